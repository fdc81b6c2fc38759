"""The wall-clock run (``rampart soak --wall``): its verdict criterion by criterion from the
figures, the record it keeps of the engine's orders taken back to a checkpoint on a restart,
the simulator's market stream spoiling closed candles when told to, and a short run against a
real ``rampart simulator`` process with faults on a fast schedule."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.events import FillBooked, OrderUpdated, ReconciliationRepaired
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.journal import JournaledLedger
from rampart_testkit.soak.wall import WallSoak, WallStats
from rampart_testkit.soak.wall_faults import WALL_KINDS, WallPlan, parse_wall_faults
from rampart_testkit.soak.wall_report import build, markdown

A = "sim-1.s1"


def good_stats() -> WallStats:
    """A day-long run that met every criterion."""
    s = WallStats(duration_s=86_400.0, traded_s=86_400.5, stale_s=10.0)
    s.checks = s.checks_passed = 500
    s.rss_start_mb, s.rss_baseline_mb, s.rss_end_mb = 180.0, 190.0, 191.0
    for _ in range(1000):
        s.order_latency.add(0.02)
        s.signal_latency.add(0.0001)
    s.episodes = Counter({k: 3 for k in WALL_KINDS})
    s.faults_fired = Counter({"error": 40, "drop": 9})
    s.restarts = 3
    fc = s.fault_checks
    fc.outages, fc.store_checks, fc.store_checks_passed = 6, 6, 6
    s.dirty.served["x1000"] = 5
    s.dirty.orders_on_candles = 900
    return s


def verdict(stats: WallStats) -> dict[str, bool]:
    config = SoakConfig(duration_s=86_400.0, faults=WALL_KINDS, accounts=4, timeframe="1s")
    return {c["name"]: c["pass"] for c in build(config, stats)["criteria"]}


def _crash(s: WallStats) -> None:
    s.crashes.append("engine: ValueError: boom")


def _lost(s: WallStats) -> None:
    s.accounting.lost_orders = 1


def _doubled(s: WallStats) -> None:
    s.accounting.duplicated_fills = 1


def _unprotected(s: WallStats) -> None:
    s.protection.checks, s.protection.unprotected = 10, 1


def _unexplained(s: WallStats) -> None:
    s.repairs["position_adjusted"] = 1


def _stale(s: WallStats) -> None:
    s.stale_s = 200.0  # more than 0.1 % of a day


def _stopped(s: WallStats) -> None:
    s.interrupted = True


def _differs(s: WallStats) -> None:
    s.checks_passed -= 1


def _grew(s: WallStats) -> None:
    s.rss_end_mb = 194.0  # +2.1 % from the baseline


def _slow_orders(s: WallStats) -> None:
    for _ in range(1000):
        s.order_latency.add(1.7)


def _slow_signals(s: WallStats) -> None:
    for _ in range(1000):
        s.signal_latency.add(0.2)


def _sent_while_down(s: WallStats) -> None:
    s.fault_checks.store_failures.append("entry sent while the store was down")


def _suspect_order(s: WallStats) -> None:
    s.dirty.suspect_orders["x1000"] = 1


def _suspect_trip(s: WallStats) -> None:
    s.dirty.suspect_trips = 1


def _never_injected(s: WallStats) -> None:
    del s.episodes["clock_step"]


CRITICAL = "Zero critical failures"


@pytest.mark.parametrize(
    ("breaks", "failed"),
    [
        (_crash, {CRITICAL, "Continuous operation for the whole run",
                  "Network disconnects and rate limits survived",
                  "Timeouts and malformed responses handled"}),
        (_lost, {CRITICAL, "No lost orders or fills"}),
        (_doubled, {CRITICAL, "No duplicated orders or fills"}),
        (_unprotected, {CRITICAL, "Every position protected by a stop-loss"}),
        (_unexplained, {"Every fill explained by the exchange's trades"}),
        (_stale, {"Continuous operation for the whole run"}),
        (_stopped, {"Continuous operation for the whole run"}),
        (_differs, {"100 % reconciliation accuracy"}),
        (_grew, {"Memory growth < 2 %"}),
        (_slow_orders, {"Order execution < 800 ms on average"}),
        (_slow_signals, {"Signal generation < 50 ms"}),
        (_sent_while_down, {"Database outages: nothing lost, no entry sent"}),
        (_suspect_order, {"No order driven by a suspect price"}),
        (_suspect_trip, {"No breaker trip or halt from a suspect price"}),
        (_never_injected, {"Every fault on the schedule injected"}),
    ],
)  # fmt: skip
def test_each_figure_fails_its_own_criterion_and_no_other(breaks: Any, failed: set[str]) -> None:
    good = verdict(good_stats())
    assert all(good.values()), good
    assert len(good) == 16
    stats = good_stats()
    breaks(stats)
    assert {name for name, ok in verdict(stats).items() if not ok} == failed


def test_the_report_names_the_launch_plans_and_every_criterion() -> None:
    stats = good_stats()
    _grew(stats)
    config = SoakConfig(duration_s=86_400.0, faults=WALL_KINDS, accounts=4, timeframe="1s")
    report = build(config, stats)
    text = markdown(report)
    assert "seeds 003" in text and "Overall: **FAIL**" in text
    assert "| Memory growth < 2 % | +2.11 % (190.0 → 194.0 MB RSS" in text
    assert text.count("| PASS |") == 15 and text.count("| **FAIL** |") == 1
    assert report["config"]["mode"] == "wall" and not report["passed"]


def _order(seq: int) -> Order:
    return Order(
        client_id=client_order_id(A, seq, OrderRole.ENTRY),
        account_id=A,
        symbol="BTC/USDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        qty=Decimal("0.01"),
        role=OrderRole.ENTRY,
    )


def _fill(trade: int) -> FillBooked:
    fill = Fill(
        fill_id=f"{A}:x:{trade}",
        client_id=client_order_id(A, 1, OrderRole.ENTRY),
        account_id=A,
        symbol="BTC/USDT",
        side=Side.BUY,
        qty=Decimal("0.01"),
        price=Decimal("100"),
        fee=Decimal("0"),
        liquidity=Liquidity.TAKER,
        ts=1,
    )
    return FillBooked(ts=1, fill=fill, role="entry", strategy="churn")


def test_a_restart_takes_the_record_back_to_the_checkpoint() -> None:
    """What the engine registered and booked after the checkpoint is forgotten with it (the
    restarted engine does it again, or reconciliation finds it); what came before stays."""
    ledger = JournaledLedger()
    new = OrderStatus.NEW
    ledger(OrderUpdated(ts=1, order=_order(1), previous=new))
    ledger(_fill(10))
    ledger.mark()
    ledger(OrderUpdated(ts=2, order=_order(2), previous=new))
    ledger(_fill(11))
    ledger(_fill(10))  # booked again: a duplicate until the restart takes it back
    adopted = client_order_id(A, 1, OrderRole.ENTRY)
    ledger(ReconciliationRepaired(2, A, "order_adopted", adopted, "BTC/USDT", "adopted"))
    assert ledger.fills[A][str(10)] == 2 and ledger.orders[A] == {1, 2}
    ledger.rollback()
    assert ledger.orders[A] == {1} and ledger.orders_registered == 1
    assert dict(ledger.fills[A]) == {"10": 1} and ledger.fills_booked == 1


def test_the_wall_run_refuses_an_unknown_fault_and_other_modes_in_one_sentence() -> None:
    with pytest.raises(Exception, match="Unknown wall run fault kind"):
        parse_wall_faults("latency,earthquake")
    assert parse_wall_faults("dirty") == ("bad_candles", "flap", "skew", "db_flap", "clock_step")
    result = CliRunner().invoke(app, ["soak", "--wall", "1m", "--workers", "2"])
    assert result.exit_code == 2 and "drop --remote and --workers" in result.output
    result = CliRunner().invoke(app, ["soak", "--wall", "soon"])
    assert result.exit_code == 2 and "A duration is a positive number" in result.output
    assert "Traceback" not in result.output


class SurePlan(WallPlan):
    def _params(self, kind: str) -> dict[str, Any]:
        params = super()._params(kind)
        if kind == "bad_candles":
            params["probability"] = 1.0  # every candle of the episode spoiled
        return params


class FastWall(WallSoak):
    """Episodes every few seconds, so a short run meets each fault asked for."""

    plan_class = SurePlan
    timing = {"gap": (2, 3), "length": (2, 3), "outage": (2, 3), "drop_every": (1, 2)}  # noqa: RUF012


@pytest.mark.slow
def test_a_short_wall_run_against_a_simulator_process_passes_with_faults(tmp_path: Path) -> None:
    from rampart_testkit.soak.wall_report import build as report_of
    from rampart_testkit.soak.wall_sim import SimulatorProcess, wall_settings

    kinds = ("bad_candles", "restart", "ws_drop")
    config = SoakConfig(
        duration_s=18.0,
        checkpoint_every=2,
        faults=kinds,
        accounts=2,
        seed=3,
        out_dir=tmp_path,
        timeframe="1s",
        reconcile_every_s=5.0,
        final_settle_wall_s=20.0,
    )

    async def run() -> WallStats:
        sim = SimulatorProcess(tmp_path / "sim.log", 2, "1s", 3)
        await sim.start()
        try:
            settings = wall_settings(
                sim, config.symbols, "1s", timeout_s=5.0, store=tmp_path / "soak.db"
            )
            soak = FastWall(settings, config, sim)
            try:
                return await soak.run()  # type: ignore[return-value]
            finally:
                await soak.admin.close()
        finally:
            await sim.stop()

    stats = asyncio.run(run())
    report = report_of(config, stats)
    failed = [c for c in report["criteria"] if not c["pass"]]
    assert not failed, json.dumps(report, indent=1, default=str)
    f = report["faults"]
    assert set(f["episodes"]) == set(kinds) and f["restarts"] >= 1
    assert f["websockets_dropped"] >= 1 and f["feed_websocket_states"].get("connected")
    assert f["order_stream_states"].get("streaming")
    # Spoiled candles were served (on the stream or the klines answer) and none drove an order.
    assert sum(report["dirty"]["spoiled_candles_served"].values()) >= 1
    assert report["dirty"]["orders_driven_by_suspect_price"] == 0
    assert report["orders"] >= 2 and report["lost"]["total"] == 0


def test_the_store_check_counts_transitions_as_the_store_keeps_them(tmp_path: Path) -> None:
    """An order re-sized in place or filled one more part is no transition: the store keeps it
    in the order's row, so the check after a database outage does not expect a row for it."""
    from rampart.store.db import open_database
    from rampart.store.writer import StoreWriter
    from rampart_testkit.soak.faults import FaultChecks, FaultWatch

    db = open_database(f"sqlite:///{tmp_path / 'soak.db'}")
    writer, checks = StoreWriter(db), FaultChecks()
    watch = FaultWatch(checks, lambda: False)
    order = _order(1)
    events = [OrderUpdated(ts=1, order=order.snapshot(), previous=OrderStatus.NEW)]
    order.transition(OrderStatus.SUBMITTED, 2)
    events.append(OrderUpdated(ts=2, order=order.snapshot(), previous=OrderStatus.NEW))
    order.record_fill(Decimal("0.004"), Decimal("100"), Decimal("0"), 3)
    events.append(OrderUpdated(ts=3, order=order.snapshot(), previous=OrderStatus.SUBMITTED))
    order.record_fill(Decimal("0.003"), Decimal("100"), Decimal("0"), 4)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    events.append(OrderUpdated(ts=4, order=order.snapshot(), previous=OrderStatus.PARTIALLY_FILLED))
    for event in events:
        writer(event)
        watch(event)
    writer.flush()
    watch.verify_store(db, "at the end")
    assert checks.store_checks_passed == 1, checks.store_failures
