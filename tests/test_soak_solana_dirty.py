"""The Solana soak's dirty faults: spoiled quotes, a node or route flapping and the engine's
clock stepped, run by ``--faults dirty``; every price passes the market-data guard, so no order
and no breaker trip is driven by a spoiled quote, and the books still equal the chain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from rampart_testkit.soak.solana_faults import SOLANA_DIRTY, SOLANA_KINDS, parse_solana_faults

ROOT = Path(__file__).resolve().parents[1]


def test_dirty_names_the_stand_ins_dirty_faults_and_all_stays_clean() -> None:
    assert parse_solana_faults("dirty") == SOLANA_DIRTY == ("bad_candles", "flap", "clock_step")
    assert not set(SOLANA_DIRTY) & set(parse_solana_faults("all"))
    assert parse_solana_faults("bad-candles, clock_step") == ("bad_candles", "clock_step")
    assert "flap" not in SOLANA_KINDS


def test_a_short_dirty_solana_soak_moves_no_money_on_a_spoiled_quote(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    args = ["soak", "--venue", "solana", "--duration", "1h", "--speed", "1000"]
    done = subprocess.run(
        [sys.executable, "-m", "rampart.cli.main", *args, "--faults", "dirty", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "soak-solana-report.json").read_text())
    assert set(report["fault_episodes"]) == set(SOLANA_DIRTY)
    names = {c["name"]: c["pass"] for c in report["criteria"]}
    assert names["No order driven by a suspect price"] is True
    assert names["No breaker trip or halt from a suspect price"] is True
    assert report["passed"] is True, [c for c in report["criteria"] if not c["pass"]]
    d = report["dirty"]
    # The faults bit: quotes were spoiled, and the guard held what they made of the price.
    assert sum(d["spoiled_candles_served"].values()) > 0
    assert d["quarantined_by_guard"].get("held", 0) > 0
    assert d["orders_on_candles"] > 0 and d["orders_driven_by_suspect_price"] == 0
    assert d["breaker_trips_from_suspect_price"] == 0 and d["halts_from_suspect_price"] == 0
    assert d["clock_steps"]["forward"] + d["clock_steps"]["back"] >= 2
    assert report["faults_fired"].get("flap", 0) > 0
    assert report["lost"]["total"] == 0 and report["duplicated"]["total"] == 0
    assert report["protection"]["unprotected"] == 0
