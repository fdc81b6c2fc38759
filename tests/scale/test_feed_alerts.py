"""What a worker says when candles or commands cannot flow: its link to NATS read
from the client at each scrape (0 while NATS is down: ``MessagingDown``), and its next candle's
lateness (past 10 s: ``CandlesStopped``), measured on the worker's ops clock from the last
candle that reached it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.fleet.worker_messaging import candle_interval_s
from rampart.observability.messaging_metrics import (
    CANDLES_OVERDUE,
    NATS_CONNECTED,
    CandleArrivals,
)
from rampart.wiring.fleet_parts import build_worker
from rampart.wiring.venue_kinds import live_feed
from tests.scale.nats_server import NatsServer, require_nats
from tests.scale.test_workers import HANG_GUARD_S, publish, settings_for, started


def test_a_candle_is_overdue_one_interval_after_the_last() -> None:
    clock = SimClock(0)
    arrivals = CandleArrivals(clock, 0.5)
    clock.advance(500)
    assert arrivals.overdue_s() == 0.0  # on time
    clock.advance(11_000)
    assert arrivals.overdue_s() == 11.0
    arrivals.arrived()
    assert arrivals.overdue_s() == 0.0


def test_the_interval_is_the_timeframe_paced_by_a_simulated_feed() -> None:
    paced = load_settings(feed={"kind": "synthetic", "timeframe": "1m", "speed": 600})
    assert candle_interval_s(paced.feed, live_feed(paced)) == 0.1
    # An exchange's feed is not paced: speed does not apply.
    live = paced.model_copy(update={"feed": paced.feed.model_copy(update={"kind": "ccxt"})})
    assert candle_interval_s(live.feed, live_feed(live)) == 60.0


def test_a_worker_reports_its_link_and_overdue_candles(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    require_nats(server)
    settings = settings_for(server.url, f"sqlite:///{tmp_path / 'rampart.db'}")
    clock = SimClock(1_000_000)

    async def scenario() -> None:
        await publish(settings, 20)
        worker = build_worker(settings, Console(quiet=True), name="w1", ops_clock=clock)
        worker.install_signals = False
        task = await started(worker)
        registry = worker.metrics.registry

        def value(name: str, **labels: str) -> float | None:
            return registry.get_sample_value(name, labels)

        async def until(done: object) -> None:
            async def wait() -> None:
                while not done():  # type: ignore[operator]
                    await asyncio.sleep(0.05)  # polling the client's own state

            await asyncio.wait_for(wait(), HANG_GUARD_S)

        try:
            assert value(NATS_CONNECTED, link="worker") == 1.0
            await until(lambda: value(CANDLES_OVERDUE) == 0.0)
            clock.advance(30_000)  # no candle for 30 s on the worker's clock
            assert (value(CANDLES_OVERDUE) or 0.0) > 10  # CandlesStopped
            await publish(settings, 22)  # the feed goes on: two more candles
            await until(lambda: value(CANDLES_OVERDUE) == 0.0)

            await asyncio.to_thread(server.stop)
            await until(lambda: value(NATS_CONNECTED, link="worker") == 0.0)  # MessagingDown
            await asyncio.to_thread(server.start)
            await until(lambda: value(NATS_CONNECTED, link="worker") == 1.0)
        finally:
            worker.stop.set()
            await task
            await worker.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
