"""Optional extras (rampart/extras.py): the service and the API import none of the heavy
libraries, and a feature whose extra is missing says which one to install, in one sentence."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.extras import MissingExtra, require
from rampart.market.formats import read_raw
from rampart.market.series import CandleSeries
from rampart.market.writers import write_candles
from rampart.reports.summary import chart_failure
from rampart.store.db import open_database
from tests.reports.helpers import fill_store

HEAVY = ("matplotlib", "sklearn", "pandas", "pyarrow", "hvac", "optuna")
runner = CliRunner()


def block(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``import name`` (and of every submodule already loaded) raise ImportError."""
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.setitem(sys.modules, loaded, None)
    monkeypatch.setitem(sys.modules, name, None)


def series(n: int = 10) -> CandleSeries:
    ts = np.arange(n, dtype=np.int64) * 60_000 + 1_700_000_040_000
    close = np.linspace(100.0, 110.0, n)
    return CandleSeries(
        "BTC/USDT", "1m", 60_000, ts, close, close + 1, close - 1, close, np.ones(n)
    )


def test_service_and_cli_import_no_heavy_library() -> None:
    code = (
        "import rampart.wiring.service, rampart.cli.main, rampart.api.app, rampart.wiring.replay;"
        " import sys;"
        f" print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_require_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    block(monkeypatch, "matplotlib")
    with pytest.raises(MissingExtra) as caught:
        require("reports", "matplotlib.figure")
    assert caught.value.message == (
        "Charts need the 'reports' extra (matplotlib is not installed): "
        "pip install 'rampart[reports]'"
    )
    assert caught.value.extra == "reports"


def test_daily_report_without_matplotlib_is_made_without_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    engine = open_database(url)
    fill_store(engine)
    engine.dispose()
    block(monkeypatch, "matplotlib")
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["report", "daily", "--date", "2024-03-05", "--out", str(out)],
        env={"RAMPART_STORE__URL": url, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    folder = out / "daily-2024-03-05"
    assert sorted(p.name for p in folder.iterdir()) == ["report.md"]
    markdown = (folder / "report.md").read_text()
    assert "## Trading" in markdown and "![" not in markdown
    assert "Charts need the 'reports' extra" in markdown
    assert "pip install 'rampart[reports]'" in markdown


def test_replay_equity_chart_is_skipped_without_pillow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The replay's chart is drawn with Pillow, which the 'reports' extra brings with matplotlib.
    png = tmp_path / "equity.png"
    png.write_bytes(b"an older run's picture")
    block(monkeypatch, "PIL")
    assert chart_failure([(1_700_000_000_000, 100.0)], png, "t") is not None
    assert not png.exists()


def test_model_training_without_scikit_learn_says_which_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAMPART_STORE__URL", f"sqlite:///{tmp_path / 'r.db'}")
    monkeypatch.setenv("RAMPART_ML__MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "candles.csv"
    write_candles(series(20), data)
    block(monkeypatch, "sklearn")
    block(monkeypatch, "lightgbm")
    result = runner.invoke(app, ["models", "train", "--data", str(data)])
    assert result.exit_code == 2, result.output
    assert "the 'ml' extra (sklearn is not installed): pip install 'rampart[ml]'" in " ".join(
        result.output.split()
    )
    assert "Traceback" not in result.output


def test_parquet_files_without_pyarrow_say_which_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_candles(series(), tmp_path / "c.parquet")
    assert len(read_raw(path)) == 10
    block(monkeypatch, "pyarrow")
    with pytest.raises(MissingExtra, match=r"Feather and Parquet candle files need the 'parquet'"):
        read_raw(path)
    with pytest.raises(MissingExtra, match=r"pip install 'rampart\[parquet\]'"):
        write_candles(series(), tmp_path / "d.feather")
    assert not (tmp_path / "d.feather").exists()
    # CSV and JSON need nothing beyond the core.
    csv = write_candles(series(), tmp_path / "c.csv")
    assert len(read_raw(csv)) == 10


def test_vault_without_hvac_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "rampart.security.vault", raising=False)
    block(monkeypatch, "hvac")
    with pytest.raises(MissingExtra) as caught:
        importlib.import_module("rampart.security.vault")
    assert caught.value.message == (
        "Reading the master key from Vault needs the 'vault' extra (hvac is not installed): "
        "pip install 'rampart[vault]'"
    )


def test_a_stored_model_without_scikit_learn_is_refused_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rampart.ml.artifacts import ArtifactError, dump_artifact, load_artifact, save_artifact
    from tests.ml.helpers import constant_model

    data, sha = dump_artifact(constant_model(0.3))
    save_artifact(data, tmp_path / "model.pkl")
    block(monkeypatch, "sklearn")
    with pytest.raises(ArtifactError, match=r"needs the 'ml' extra .*pip install 'rampart\[ml\]'"):
        load_artifact(tmp_path / "model.pkl", sha, "v1")
