"""A worker's trouble raises the in-service alert in the server holding the ops lease:
a real worker trading on NATS JetStream and the store serves its metrics at the address its
heartbeat row names; the fleet's alert engine scrapes it and evaluates every rule.

- orders failing at the venue (a fault: every order refused) open ``OrdersFailing`` and
  ``ErrorRateCritical`` (P0) and ``ExchangeApiErrors`` (P1); orders accepted again resolve them
  once their window has passed;
- a worker more than 1,000 candles behind the market stream (its trading held while the feed
  publishes) opens ``ConsumerLagHigh`` (P1), resolved once it has caught up.

Liveness and the rules' ``for`` run on a SimClock the test advances; nothing waits on time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.orders import Order
from rampart.fleet.alerts import FleetAlertEngine, fleet_alerting
from rampart.fleet.worker import Worker
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.observability.incidents import active_incidents, list_incidents
from rampart.observability.metrics import Metrics
from rampart.venues.paper import PaperVenue
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer
from tests.scale.test_workers import (
    HANG_GUARD_S,
    close_of,
    heartbeat,
    nats,  # noqa: F401 - the fixture
    publish,
    settings_for,
    started,
    traded_until,
)

START_MS = 1_000_000


def rules_open(engine: FleetAlertEngine) -> dict[str, Any]:
    assert engine.db is not None
    return {i.rule: i for i in active_incidents(engine.db)}


async def step(engine: FleetAlertEngine, worker: Worker, clock: SimClock, ms: int) -> None:
    """The clock moves on; the worker renews and samples (as its loops do), then the server
    evaluates, scraping the worker over HTTP."""
    clock.advance(ms)
    await worker.keep_leases()
    await worker.watch.sample()
    await engine.evaluate(clock.now_ms())


async def trading_worker(settings: Any, clock: SimClock) -> tuple[Worker, asyncio.Task[None], Any]:
    nc = await connect(settings.scale.nats_url, "test-sender")
    sender = CommandSender(nc, await command_stream(nc), clock)
    console = Console(quiet=True)
    worker = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
    trading = await started(worker)
    async with asyncio.timeout(HANG_GUARD_S):
        while not worker.caught_up:
            await asyncio.sleep(0.02)
    await heartbeat(sender, worker)
    await worker.lease_round()
    await worker.lease_round()
    assert len(worker.traders) == 4
    return worker, trading, nc


def test_orders_failing_on_a_worker_page_from_the_server(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = SimClock(START_MS)
    settings = settings_for(nats.url, db_url)

    async def refused(self: PaperVenue, order: Order) -> None:
        raise VenueError("the venue refuses every order (the test's fault)", "unavailable")

    async def scenario() -> None:
        await publish(settings, 600)
        worker, trading, nc = await trading_worker(settings, clock)
        try:
            await traded_until(worker, close_of(settings, 600))
            engine = fleet_alerting(settings, worker.db, Metrics(venue="serve"), clock, name="s1")
            await step(engine, worker, clock, 0)  # the first scrape: the baseline

            with monkeypatch.context() as fault:
                fault.setattr(PaperVenue, "submit", refused)
                await publish(settings, 300)
                await traded_until(worker, close_of(settings, 900))
            submissions = worker.metrics.submissions
            rejected = submissions.labels(venue="paper", outcome="rejected")._value.get()
            assert rejected >= 5, rejected  # the fault was met, enough to page
            await step(engine, worker, clock, 1_000)
            paged = {"OrdersFailing", "ErrorRateCritical", "ExchangeApiErrors"}
            assert paged <= set(engine.pending)
            await step(engine, worker, clock, 61_000)
            opened = rules_open(engine)
            assert opened["OrdersFailing"].severity == "P0"
            assert (opened["ErrorRateCritical"].severity, opened["ErrorRateCritical"].value) == (
                "P0",
                1.0,  # every exchange call the worker made failed
            )
            assert opened["ExchangeApiErrors"].severity == "P1"
            assert opened["ExchangeApiErrors"].value == rejected

            # The venue takes orders again: accepted ones come in and the errors leave the
            # window; both resolve (a rule is judged cleared once watched for its window).
            await publish(settings, 300)
            await traded_until(worker, close_of(settings, 1_200))
            accepted = submissions.labels(venue="paper", outcome="accepted")._value.get()
            assert accepted > 0
            await step(engine, worker, clock, 1_000)
            await step(engine, worker, clock, 300_000)
            assert not paged & set(rules_open(engine))
            resolved = {i.rule for i in list_incidents(worker.db, "resolved")}
            assert paged <= resolved
        finally:
            worker.stop.set()
            await trading
            await worker.aclose()
            await nc.close()

    asyncio.run(scenario())


def test_a_worker_behind_the_market_stream_raises_consumer_lag(
    nats: NatsServer,  # noqa: F811 - the fixture
    db_url: str,
) -> None:
    clock = SimClock(START_MS)
    settings = settings_for(nats.url, db_url)

    async def scenario() -> None:
        await publish(settings, 200)
        worker, trading, nc = await trading_worker(settings, clock)
        try:
            await traded_until(worker, close_of(settings, 200))
            engine = fleet_alerting(settings, worker.db, Metrics(venue="serve"), clock, name="s1")
            await step(engine, worker, clock, 0)
            assert worker.metrics.scale.consumer_lag.labels(stream="market")._value.get() == 0

            # The worker is stuck on a candle (a shard's lock held) while the feed publishes 1,200.
            subscription = worker.subscription
            assert subscription is not None
            async with worker.locks(next(iter(worker.traders))):
                await publish(settings, 1_200)
                async with asyncio.timeout(HANG_GUARD_S):
                    while subscription.behind() < 1_199:  # the last is the one it is on
                        await asyncio.sleep(0.02)
                await step(engine, worker, clock, 1_000)
                assert "ConsumerLagHigh{stream=market}" in engine.pending
                await step(engine, worker, clock, 61_000)
                lag = rules_open(engine)["ConsumerLagHigh"]
                assert (lag.severity, lag.labels) == ("P1", {"stream": "market"})
                assert lag.value >= 1_199

            await traded_until(worker, close_of(settings, 1_400))
            await step(engine, worker, clock, 1_000)
            assert "ConsumerLagHigh" not in rules_open(engine)
            resolved = [i.rule for i in list_incidents(worker.db, "resolved")]
            assert resolved.count("ConsumerLagHigh") == 1
        finally:
            worker.stop.set()
            await trading
            await worker.aclose()
            await nc.close()

    asyncio.run(scenario())
