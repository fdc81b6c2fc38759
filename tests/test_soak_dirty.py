"""The dirty soak: ``--faults dirty`` picks bad candles, a flapping venue and store and clock
steps; candles the simulator spoiled are told from true ones and what they drove is counted;
a short dirty soak through the command line completes with those criteria in its report."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from random import Random

import pytest

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.events import BreakerTripped, OrderUpdated
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart_testkit.simulator import FaultSet
from rampart_testkit.simulator.bad_candles import Corrupted
from rampart_testkit.soak import SoakConfig, SoakStats
from rampart_testkit.soak import report as reports
from rampart_testkit.soak.chaos import (
    CLOCK_STEP,
    DB_FLAP,
    DIRTY_KINDS,
    SOAK_KINDS,
    FaultPlan,
    parse_faults,
)
from rampart_testkit.soak.dirty import DirtyChecks, StepClock, SuspectWatch

ROOT = Path(__file__).resolve().parents[1]
SUSPECT = ("No order driven by a suspect price", "No breaker trip or halt from a suspect price")


def test_dirty_is_its_own_set_and_all_stays_clean() -> None:
    assert (
        parse_faults("dirty") == DIRTY_KINDS == ("bad_candles", "flap", "skew", DB_FLAP, CLOCK_STEP)
    )
    assert parse_faults("bad-candles, flap") == ("bad_candles", "flap")
    assert not {"bad_candles", "flap", DB_FLAP, CLOCK_STEP} & set(parse_faults("all"))
    assert parse_faults("all") == SOAK_KINDS and "skew" in SOAK_KINDS
    with pytest.raises(ConfigError, match="dirty"):
        parse_faults("bad_candle")


def test_a_flapping_store_goes_down_and_up_in_turn_and_the_clock_steps_and_back() -> None:
    plan = FaultPlan(FaultSet(seed=0), (DB_FLAP, CLOCK_STEP), Random(5), outage=(12, 12))
    downs: list[bool] = []
    offsets: set[int] = set()
    for step in range(120):
        plan.tick(step)
        plan.take_due()
        if plan.active_kind() == DB_FLAP:
            downs.append(plan.store_down(step))
        offsets.add(plan.clock_offset_ms())
    assert True in downs and False in downs
    flips = sum(a != b for a, b in itertools.pairwise(downs))
    assert flips >= 2  # down, up, down again within one episode
    assert 0 in offsets and any(o != 0 for o in offsets)  # stepped, then stepped back
    clock = StepClock(SimClock(1_000_000))
    assert clock.step_to(-300_000) == -300_000 and clock.now_ms() == 700_000
    assert clock.step_to(0) == 300_000 and clock.now_ms() == 1_000_000


def _candle(symbol: str, minute: int, close: float) -> Candle:
    return Candle(symbol, minute * 60_000, close, close, close, close, 1.0)


def _registered(symbol: str, role: OrderRole = OrderRole.ENTRY) -> OrderUpdated:
    order = Order(f"c-{symbol}", "a1", symbol, Side.BUY, OrderType.MARKET, Decimal(1), role)
    return OrderUpdated(0, order, OrderStatus.NEW)


def test_candles_the_simulator_spoiled_are_told_apart_and_what_they_drive_is_counted() -> None:
    checks = DirtyChecks()
    watch = SuspectWatch(checks, lambda account_id: ("BTC/USDT",))
    btc = "BTC/USDT"
    watch.take(
        [
            Corrupted("x1000", btc, 60_000, 100_000.0),
            Corrupted("gap", btc, 180_000, 100.0),
            Corrupted("out_of_order", btc, 60_000, 100.0),
        ]
    )
    steps = [
        (_candle(btc, 0, 100.0), None),
        (_candle(btc, 1, 100_000.0), "x1000"),
        (_candle(btc, 2, 101.0), None),
        # Minute 3 is the hole: told apart and counted, but its prices are the exchange's own,
        # so what it drives is no suspect price's doing.
        (_candle(btc, 4, 102.0), "gap"),
        (_candle(btc, 1, 100.0), "out_of_order"),  # arrives after minute 4
    ]
    for candle, expected in steps:
        assert watch.judge(candle) == expected, candle
        watch.before(candle)
        watch(_registered(btc))
        watch(_registered("ETH/USDT"))
        if expected == "x1000":
            watch(BreakerTripped(0, "a1", "daily_loss", "lost"))
        watch.after()
    assert checks.orders_on_candles == 10
    assert checks.suspect_orders == {"x1000": 1, "out_of_order": 1}
    assert checks.delivered == {"x1000": 1, "gap": 1, "out_of_order": 1}
    assert checks.suspect_trips == 1 and checks.trips == 1
    assert sum(checks.served.values()) == 3
    watch(_registered(btc))  # outside a candle (a reconciliation): not price-driven
    assert checks.orders_on_candles == 10


def test_the_suspect_criteria_fail_on_any_and_only_when_dirty_faults_ran() -> None:
    dirty = SoakConfig(duration_s=3600, accounts=2, faults=DIRTY_KINDS)
    clean = SoakConfig(duration_s=3600, accounts=2)
    stats = SoakStats(checks=1, checks_passed=1, rss_baseline_mb=100.0, rss_end_mb=100.0)
    stats.signal_latency.add(0.001)
    stats.order_latency.add(0.01)
    assert not set(SUSPECT) & {c.name for c in reports.criteria(clean, stats)}
    verdict = {c.name: c.passed for c in reports.criteria(dirty, stats)}
    assert verdict[SUSPECT[0]] and verdict[SUSPECT[1]]
    stats.dirty.suspect_orders["zero"] = 1
    stats.dirty.suspect_halts = 1
    verdict = {c.name: c.passed for c in reports.criteria(dirty, stats)}
    assert not verdict[SUSPECT[0]] and not verdict[SUSPECT[1]]
    assert not reports.build(dirty, stats)["passed"]


@pytest.mark.slow
def test_a_short_dirty_soak_completes_and_reports_what_suspect_prices_drove(
    tmp_path: Path,
) -> None:
    out = tmp_path / "soak"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rampart.cli.main",
            "soak",
            "--duration",
            "2h",
            "--accounts",
            "10",
            "--faults",
            "dirty",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
    )
    report = json.loads((out / "soak-report.json").read_text())
    assert done.returncode == (0 if report["passed"] else 1), done.stdout + done.stderr
    verdict = {c["name"]: c for c in report["criteria"]}
    for name in SUSPECT:
        assert f"  {name}: " in done.stdout
    d = report["dirty"]
    assert sum(d["spoiled_candles_served"].values()) >= 1
    # The market-data guard stands between the feed and the engine, as in the service: what
    # was spoiled is quarantined and drives nothing.
    assert sum(d["quarantined_by_guard"].values()) >= 1
    assert d["orders_driven_by_suspect_price"] == 0 and verdict[SUSPECT[0]]["pass"]
    assert d["breaker_trips_from_suspect_price"] == 0 and verdict[SUSPECT[1]]["pass"]
    assert d["clock_steps"]["back"] >= 1 and d["store_flaps"] >= 1
    assert report["faults_fired"]["flap"] >= 1
    assert set(report["fault_episodes"]) == set(DIRTY_KINDS)
    # What a dirty run must still keep: nothing lost or doubled, every position protected.
    assert report["lost"]["total"] == 0 and report["duplicated"]["total"] == 0
    assert report["protection"]["unprotected"] == 0 and report["crashes"] == []
    assert "Dirty faults:" in (out / "soak-report.md").read_text()
