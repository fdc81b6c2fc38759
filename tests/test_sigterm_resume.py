"""Graceful stop: a replay sent SIGTERM mid-run stops after the candle in hand, saves its
progress, exits 0 with a sentence saying so, and a --resume run then ends with the same books
(trades, fills, fees, equity) as an uninterrupted run."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import SHARED_DATA

DATA = SHARED_DATA / "ETH_BTC-5m.feather"
ARGS = ["--agent", "breakout", "--profile", "aggressive", "--capital", "10"]
FILL_COLUMNS = "client_id, account_id, symbol, side, qty, price, fee, liquidity, role, ts"
AMOUNTS = {"qty", "price", "fee"}


def _replay(out: Path, db: str, *extra: str, term_at: int = 0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RAMPART_STORE__REPLAY_CHECKPOINT_EVERY="500")
    if term_at:
        # The replay sends itself a real SIGTERM once that many candles are done.
        env["RAMPART_FAULT_TERM_AT_CANDLE"] = str(term_at)
    cmd = [sys.executable, "-m", "rampart.cli.main", "replay", "--data", str(DATA), *ARGS]
    cmd += ["--out", str(out), "--db", db, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def _trades(out: Path) -> list[dict[str, str]]:
    with (out / "trades.csv").open() as handle:
        return list(csv.DictReader(handle))


def _fills(db_url: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT {FILL_COLUMNS} FROM fills ORDER BY ts, client_id"))
            # Amounts compared as numbers: the two backends may print the same one differently.
            return [
                tuple(
                    Decimal(str(v)).normalize() if k in AMOUNTS else v
                    for k, v in row._mapping.items()
                )
                for row in rows
            ]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not DATA.exists():
        pytest.skip(f"{DATA} not found")
    base = tmp_path_factory.mktemp("clean")
    db = f"sqlite:///{base / 'clean.db'}"
    result = _replay(base / "out", db)
    assert result.returncode == 0, result.stderr
    return base / "out", db


def test_sigterm_mid_replay_resumes_exactly(
    tmp_path: Path, db_url: str, clean_run: tuple[Path, str]
) -> None:
    clean_out, clean_db = clean_run
    db = db_url
    # Anywhere, including between checkpoints: the stop itself saves the progress.
    term_at = random.Random().randint(200, 5000)
    out = tmp_path / "stopped"

    stopped = _replay(out, db, term_at=term_at)
    assert stopped.returncode == 0, (term_at, stopped.stdout, stopped.stderr)
    said = " ".join(stopped.stdout.split())
    assert re.search(
        rf"Stopped on SIGTERM after {term_at:,} of [\d,]+ candles; progress saved to .+\. "
        r"Run the same command with --resume to continue\.",
        said,
    ), said
    assert "Traceback" not in stopped.stdout + stopped.stderr
    assert not (out / "summary.json").exists(), "a stopped replay reports nothing final"

    resumed = _replay(out, db, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert re.search(rf"resumed after\s.*{term_at:,} candles", resumed.stdout), resumed.stdout

    clean_summary = json.loads((clean_out / "summary.json").read_text())
    resumed_summary = json.loads((out / "summary.json").read_text())
    for key in ("final_equity", "fees_paid", "trades", "win_rate", "return_pct"):
        assert resumed_summary[key] == clean_summary[key], (key, term_at)
    clean_trades = _trades(clean_out)
    assert clean_trades, "the scenario must trade to prove anything"
    assert _trades(out) == clean_trades, f"stopped at candle {term_at}"
    # The database holds every fill once: nothing lost or booked twice across the stop.
    assert _fills(db) == _fills(clean_db), f"stopped at candle {term_at}"
