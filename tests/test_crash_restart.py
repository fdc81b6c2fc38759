"""Crash and restart: a replay killed with SIGKILL at a random candle, restarted from its
database, ends with the same trades and equity as an uninterrupted run."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SHARED_DATA

DATA = SHARED_DATA / "ETH_BTC-5m.feather"
ARGS = ["--agent", "breakout", "--profile", "aggressive", "--capital", "10"]


def _replay(out: Path, db: str, *extra: str, crash_at: int = 0):
    # Checkpoints every 500 candles, so a crash anywhere past the first has one to resume.
    env = dict(os.environ, RAMPART_STORE__REPLAY_CHECKPOINT_EVERY="500")
    if crash_at:
        env["RAMPART_FAULT_KILL_AT_CANDLE"] = str(crash_at)
    cmd = [
        sys.executable,
        "-m",
        "rampart.cli.main",
        "replay",
        "--data",
        str(DATA),
        *ARGS,
        "--out",
        str(out),
        "--db",
        db,
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def _trades(out: Path) -> list[dict[str, str]]:
    with (out / "trades.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not found")
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_replay_resumes_to_the_same_result(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        db_crash = f"sqlite:///{tmp_path / 'crash.db'}"
        db_clean = f"sqlite:///{tmp_path / 'clean.db'}"
    else:
        db_crash = request.getfixturevalue("pg_url")
        db_clean = f"sqlite:///{tmp_path / 'clean.db'}"
    clean = _replay(tmp_path / "clean", db_clean)
    assert clean.returncode == 0, clean.stderr

    crash_at = random.Random().randint(600, 5000)
    crashed = _replay(tmp_path / "crash", db_crash, crash_at=crash_at)
    assert crashed.returncode == -signal.SIGKILL, (crash_at, crashed.stdout, crashed.stderr)

    resumed = _replay(tmp_path / "crash", db_crash, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after" in resumed.stdout

    clean_summary = json.loads((tmp_path / "clean" / "summary.json").read_text())
    resumed_summary = json.loads((tmp_path / "crash" / "summary.json").read_text())
    assert resumed_summary["final_equity"] == clean_summary["final_equity"]
    assert resumed_summary["fees_paid"] == clean_summary["fees_paid"]
    clean_trades = _trades(tmp_path / "clean")
    assert clean_trades, "the scenario must trade to prove anything"
    key = ("opened_at", "closed_at", "qty", "entry_price", "exit_price", "pnl", "exit_reason")
    assert [tuple(t[k] for k in key) for t in _trades(tmp_path / "crash")] == [
        tuple(t[k] for k in key) for t in clean_trades
    ], f"crashed at candle {crash_at}"
