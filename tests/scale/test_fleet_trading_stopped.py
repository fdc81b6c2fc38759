"""A fleet where no shard traded a candle for two candle periods raises TradingStopped (P0),
whether or not candles still arrive; it resolves at the next candle traded anywhere, and it
says nothing before the fleet ever traded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.config import load_settings
from rampart.fleet.alerts import TRADING_STOPPED, candle_period_s
from rampart.fleet.trading_probe import trading_probe
from rampart.observability import incidents
from rampart.observability.notify import FIRING, RESOLVED

from .test_fleet_scrape import Fleet, Served, serve


@pytest.fixture
def served() -> Iterator[list[Served]]:
    made: list[Served] = []
    yield made
    for one in made:
        one.close()


def test_nothing_traded_for_two_candle_periods_pages(tmp_path: Path, served: list[Served]) -> None:
    fleet = Fleet(tmp_path)
    # Candles at their timeframe's pace (one minute), as an exchange's come.
    fleet.settings = load_settings(
        store={"url": fleet.url}, scale={"shards": 1}, api={"enabled": False}, feed={"speed": 1}
    )
    period_ms = int(candle_period_s(fleet.settings) * 1000)
    step_ms = period_ms // 4
    a, b = serve(served), serve(served)
    fleet.register("w-a", a.url)
    fleet.register("w-b", b.url)
    engine = fleet.server("serve-1")
    for _ in range(6):  # never traded yet (a fleet starting): not stopped
        fleet.step(engine, step_ms)
    assert fleet.open(TRADING_STOPPED) == []

    def trade(worker: Served) -> None:
        worker.metrics.scale.candle_traded(fleet.clock.now_ms())

    # One worker trades each candle, the other holds no shard: the fleet trades.
    for _ in range(6):
        trade(a)
        fleet.step(engine, step_ms)
    assert fleet.open(TRADING_STOPPED) == []

    # Nothing trades any more (both still answer, candles may still arrive).
    elapsed = 0
    while not fleet.open(TRADING_STOPPED):
        fleet.step(engine, step_ms)
        elapsed += step_ms
        assert elapsed <= 2 * period_ms + 2 * step_ms + 5_000, "TradingStopped must page"
    assert elapsed > 2 * period_ms - step_ms
    [incident] = fleet.open(TRADING_STOPPED)
    assert incident.severity == "P0"

    trade(b)
    fleet.step(engine, step_ms)
    assert fleet.open(TRADING_STOPPED) == []
    assert fleet.told(TRADING_STOPPED) == [FIRING, RESOLVED]


def test_a_server_is_not_ready_while_nothing_trades(tmp_path: Path) -> None:
    """Every server's /health/ready reads the open TradingStopped from the store."""
    fleet = Fleet(tmp_path)
    probe = trading_probe(fleet.db)
    assert asyncio.run(probe()).ok
    incidents.open_incident(
        fleet.db, key=TRADING_STOPPED, rule=TRADING_STOPPED, severity="P0",
        summary="No shard of the fleet has traded a new candle.", value=300.0,
        threshold=240.0, labels={}, now_ms=fleet.clock.now_ms(),
    )  # fmt: skip
    check = asyncio.run(probe())
    assert not check.ok and "nothing trades" in check.detail
