"""Bad input at the command line: one clear sentence, a non-zero exit, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app

from .conftest import SHARED_DATA

runner = CliRunner()
DATA = SHARED_DATA / "XRP_ETH-5m.feather"


def _run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def _one_sentence(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert lines, "expected a message"
    return " ".join(lines)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--agent", "yolo_agent"], "Unknown agent 'yolo_agent'"),
        (["--profile", "yolo"], "Unknown risk profile 'yolo'"),
        (["--capital", "-5"], "Capital must be a positive amount"),
        (["--capital", "abc"], "Capital must be a number"),
        (["--capital", "1e13"], "beyond any real account"),
    ],
)
def test_replay_refuses_bad_arguments(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out"
    result = _run("replay", "--data", str(DATA), "--out", str(out), *args)
    assert result.exit_code == 2
    assert needle in _one_sentence(result.output)
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "empty"), (b"[[1, 2, 3", "not"), (b"\x00\x01garbage\xff", "")],
)
def test_replay_refuses_corrupt_data(tmp_path: Path, content: bytes, needle: str) -> None:
    bad = tmp_path / "BTC_USDT-1m.json"
    bad.write_bytes(content)
    out = tmp_path / "out"
    result = _run("replay", "--data", str(bad), "--out", str(out))
    assert result.exit_code == 2
    text = _one_sentence(result.output)
    assert str(bad.name) in text and needle in text
    assert not out.exists()


def test_missing_data_file(tmp_path: Path) -> None:
    result = _run("replay", "--data", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json" in _one_sentence(result.output)


def test_config_with_a_wrong_type_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "rampart.yaml"
    cfg.write_text("feed:\n  speed: fast\n")
    result = _run("config", "show", "--config", str(cfg))
    assert result.exit_code == 2
    assert "feed.speed" in _one_sentence(result.output)


def test_config_from_environment_with_a_wrong_type() -> None:
    result = _run("config", "show", env={"RAMPART_STORE__CHECKPOINT_EVERY": "-3"})
    assert result.exit_code == 2
    assert "store.checkpoint_every" in _one_sentence(result.output)


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    env = {
        "RAMPART_TELEGRAM_TOKEN": "123456:SECRET-TOKEN-VALUE",
        "RAMPART_STORE__URL": "postgresql+psycopg://rampart:hunter2@db:5432/rampart",
    }
    result = _run("config", "show", env=env)
    assert result.exit_code == 0, result.output
    assert "SECRET-TOKEN-VALUE" not in result.output
    assert "hunter2" not in result.output
    assert "********" in result.output
    assert "db:5432/rampart" in result.output


def test_unknown_agent_in_config_is_refused_before_anything_starts(tmp_path: Path) -> None:
    cfg = tmp_path / "rampart.yaml"
    db = tmp_path / "var" / "r.db"
    cfg.write_text(
        json.dumps(
            {"store": {"url": f"sqlite:///{db}"}, "accounts": [{"id": "x", "agent": "nope"}]}
        )
    )
    result = _run("run", "--config", str(cfg), "--max-candles", "5", "--no-view")
    assert result.exit_code == 2
    assert "unknown agent 'nope'" in _one_sentence(result.output)  # named with its key
    assert not db.exists()


def test_data_inspect_reports_a_file(shared_data: Path) -> None:
    result = _run("data", "inspect", str(shared_data / "ETC_BTC-1m.json"))
    assert result.exit_code == 0, result.output
    assert "gap" in result.output.lower()


def test_data_download_offline_says_so_in_one_sentence(tmp_path: Path) -> None:
    result = _run(
        "data",
        "download",
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDT",
        "--since",
        "2024-01-01",
        "--out",
        str(tmp_path / "x.json"),
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.json").exists()
