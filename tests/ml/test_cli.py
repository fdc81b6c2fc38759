"""`rampart models`: train on real candles, list, promote, roll back; errors in one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app

from .conftest import data_files


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("RAMPART_STORE__URL", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("RAMPART_ML__MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.chdir(tmp_path)
    return {}


def test_train_list_promote_rollback(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    files = [f"--data={p}" for p in data_files()[:1]]
    r = runner.invoke(
        app,
        [
            "models",
            "train",
            *files,
            "--algorithm",
            "sklearn",
            "--trees",
            "20",
            "--folds",
            "2",
            "--by",
            "tester",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "as a candidate" in r.output and "always trade" in r.output
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    assert len(listed) == 1 and listed[0]["stage"] == "candidate"
    version = listed[0]["version"]
    assert (tmp_path / "models" / version / "model.pkl").is_file()
    assert listed[0]["baseline_precision"] is not None

    r = runner.invoke(app, ["models", "promote", version, "--by", "op"])
    assert r.exit_code == 0 and "now in production" in r.output
    r = runner.invoke(app, ["models", "rollback"])
    assert r.exit_code == 2 and "no earlier production model" in r.output
    r = runner.invoke(app, ["models", "promote", "nope"])
    assert r.exit_code == 2 and "There is no model version 'nope'" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["models", "train", "--data", "missing.feather"])
    assert r.exit_code == 2 and "no candle file" in r.output
