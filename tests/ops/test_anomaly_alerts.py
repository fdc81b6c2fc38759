"""Anomalies become incidents with their figures (AnomalyDetected P2 per account,
AnomalyWidespread P1 across accounts), held on the orders' clock; ordinary trading raises
none: a simulated stretch of the demo desk and a piece of a real candle file."""

from __future__ import annotations

import asyncio
import itertools
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.domain.events import FillBooked
from rampart.domain.fills import Fill, Liquidity
from rampart.domain.orders import Side
from rampart.market.synthetic import SyntheticFeed
from rampart_testkit.anomaly_desk import SYMBOLS, Desk, demo_day, replay_anomalies, severities

from ..conftest import SHARED_DATA


def bad_fill(desk: Desk, account: str, ts: int) -> FillBooked:
    """A buy 5 % above where BTC last traded: no slippage does that."""
    band = desk.engine.history["BTC/USDT"][-1]
    price = Decimal(repr(band.high)) * Decimal("1.05")
    fill = Fill(
        f"x-{account}", "c1", account, "BTC/USDT", Side.BUY, Decimal("0.01"), price,
        Decimal(0), Liquidity.TAKER, ts,
    )  # fmt: skip
    return FillBooked(ts, fill, "entry", "trend")


def test_a_fill_off_the_mark_is_a_p2_naming_its_figures_held_on_the_orders_clock() -> None:
    desk = Desk()

    async def scenario() -> None:
        await desk.add("a1", "trend", "moderate")
        feed = SyntheticFeed(list(SYMBOLS), seed=3)
        candles = feed.iter_candles()
        await desk.run(itertools.islice(candles, 2 * 30))
        desk.bus.publish(bad_fill(desk, "a1", desk.clock.now_ms()))
        await desk.run(itertools.islice(candles, 2 * 30))
        assert [(n.rule, n.kind) for n in desk.notices][:1] == [("AnomalyDetected", "firing")]
        # Still held within the hour (orders' clock), resolved once it has passed.
        await desk.run(itertools.islice(candles, 2 * 40))

    asyncio.run(scenario())
    firing, resolved = [n for n in desk.notices if n.kind != "repeat"]
    assert firing.severity == "P2" and firing.labels["account"] == "a1"
    assert firing.labels["kind"] == "fill_off_mark"
    assert "5.00 %" in firing.summary and "tolerance 0.50 %" in firing.summary
    assert resolved.kind == "resolved"
    assert resolved.ts - firing.ts >= 3_600_000 - 60_000


def test_the_same_anomaly_on_three_accounts_is_a_p1() -> None:
    desk = Desk()

    async def scenario() -> None:
        for i in range(3):
            await desk.add(f"a{i}", "trend", "moderate")
        candles = SyntheticFeed(list(SYMBOLS), seed=3).iter_candles()
        await desk.run(itertools.islice(candles, 2 * 30))
        for i in range(3):
            desk.bus.publish(bad_fill(desk, f"a{i}", desk.clock.now_ms()))
        await desk.run(itertools.islice(candles, 2))

    asyncio.run(scenario())
    assert desk.incidents() == {"P2": 3, "P1": 1}
    [p1] = [n for n in desk.notices if n.severity == "P1"]
    assert p1.rule == "AnomalyWidespread" and p1.labels == {"kind": "fill_off_mark"}


def test_ordinary_paper_trading_for_simulated_hours_raises_no_anomaly() -> None:
    """Six accounts on the three strategies for eight simulated hours, equity every 5
    minutes so the PnL detector judges too (the full day is bench/anomalies.py)."""
    desk = asyncio.run(demo_day(accounts_per_strategy=2, minutes=480, equity_snapshot_ms=300_000))
    judged = desk.watch.detector.judged
    assert min(judged[k] for k in ("fill_off_mark", "order_spike", "pnl_jump")) > 20, judged
    assert desk.anomalies == [] and desk.incidents() == {}


DATA = SHARED_DATA / "ETH_BTC-5m.feather"


@pytest.mark.skipif(not DATA.exists(), reason=f"real candles not found at {DATA}")
def test_a_real_candle_file_replays_with_no_anomaly(tmp_path: Path) -> None:
    run = asyncio.run(replay_anomalies(DATA, "trend", load_settings(), tmp_path))
    assert run.candles == 5760 and run.judged["pnl_jump"] > 100, run.judged
    assert severities(run) == {"P0": 0, "P1": 0, "P2": 0}
