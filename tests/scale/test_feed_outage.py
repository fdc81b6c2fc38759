"""The feed through a NATS outage: nats-server stopped for a few seconds while
``rampart feed`` publishes, then started again on the same port and store. The feed neither
exits nor fails; once NATS is back it goes on from the newest candle the stream holds, and the
stream holds every candle exactly once (no gap, no duplicate).

Also: a feed whose leader lease has run out by its clock sends nothing (a leader that froze and
woke), and a candle sent twice is kept once (the message id)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.fleet.feed_publisher import FeedPublisher, LostLead
from rampart.messaging.feed_lease import FeedLease, lease_stream
from rampart.messaging.market import CandlePublisher, market_stream
from rampart.messaging.nats_link import connect
from rampart.observability.messaging_metrics import FEED_PUBLISHED, NATS_CONNECTED
from rampart.wiring.fleet_parts import build_feed
from tests.scale.feed_helpers import (
    HANG_GUARD_S,
    assert_exactly_once,
    feed_settings,
    source_candles,
    stream_candles,
    stream_count,
    until,
)
from tests.scale.nats_server import NatsServer, require_nats


def link(feed: FeedPublisher) -> float | None:
    return feed.watch.registry.get_sample_value(NATS_CONNECTED, {"link": "feed"})


OUTAGE_S = 3.0
"""How long NATS is down: longer than the feed's lease (2 s here) and its publish timeout."""
CANDLES = 80


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    nats = NatsServer(tmp_path / "nats")
    require_nats(nats)
    yield nats
    nats.stop()


def test_the_feed_publishes_every_candle_once_through_a_nats_outage(server: NatsServer) -> None:
    settings = feed_settings(server.url)

    async def scenario() -> None:
        feed = build_feed(
            settings, Console(quiet=True), install_signals=False, max_candles=CANDLES, name="a"
        )
        running = asyncio.create_task(feed.run())

        async def some_published() -> bool:
            return feed.published >= 10

        await until(some_published, "the feed published before the outage")
        assert link(feed) == 1.0
        await asyncio.to_thread(server.stop)

        async def link_down() -> bool:
            return link(feed) == 0.0

        await until(link_down, "the feed's link gauge to say NATS is down (MessagingDown)")
        # The fault itself lasts a wall-clock while; nothing waits on it for an event.
        await asyncio.sleep(OUTAGE_S)
        assert not running.done(), "the feed stopped while NATS was down"
        await asyncio.to_thread(server.start)  # same port, same JetStream store
        await asyncio.wait_for(running, HANG_GUARD_S)
        assert feed.reconnects + feed.lease_losses >= 1, "the outage went unnoticed"

        registry = feed.watch.registry
        assert registry.get_sample_value(FEED_PUBLISHED) == feed.published
        candles = await stream_candles(server.url)
        # One more than counted when NATS stored a candle but its acknowledgement was lost.
        assert CANDLES <= len(candles) <= CANDLES + 2
        assert_exactly_once(candles, settings)

    asyncio.run(scenario())


def test_a_candle_sent_twice_is_kept_once(server: NatsServer) -> None:
    settings = feed_settings(server.url)

    async def scenario() -> None:
        nc = await connect(server.url, "test")
        try:
            publisher = CandlePublisher(await market_stream(nc, 1_000))
            first = source_candles(settings, 1)[0]
            await publisher.publish(first)
            await publisher.publish(first)  # a retry after a lost acknowledgement
            assert (publisher.published, publisher.duplicates) == (1, 1)
        finally:
            await nc.close()
        assert await stream_count(server.url) == 1

    asyncio.run(scenario())


def test_a_feed_past_its_lease_sends_nothing(server: NatsServer) -> None:
    """A leader frozen past its lease (SIGSTOP) that wakes: its next send is refused before it
    reaches NATS, and the standby that took over holds the lease."""
    settings = feed_settings(server.url)
    clock = SimClock(1_000_000)

    async def scenario() -> None:
        nc = await connect(server.url, "test")
        try:
            leases = await lease_stream(nc)
            a = FeedLease(leases, "a", clock, 2_000)
            b = FeedLease(leases, "b", clock, 2_000)
            assert await a.hold() and not await b.hold()
            assert a.valid() and a.token == 1
            clock.advance(2_000)  # a froze for a whole lease
            assert not a.valid()
            assert await b.hold() and b.token == 2
            assert not await a.hold(), "a woken leader took the lease back"

            feed = build_feed(settings, Console(quiet=True), install_signals=False, name="a")
            publisher = CandlePublisher(await market_stream(nc, 1_000))
            with pytest.raises(LostLead):
                await feed._send(publisher, source_candles(settings, 1)[0], a)
        finally:
            await nc.close()
        assert await stream_count(server.url) == 0

    asyncio.run(scenario())


def test_feeds_racing_for_a_free_lease_one_wins(server: NatsServer) -> None:
    clock = SimClock(1_000_000)

    async def scenario() -> None:
        nc = await connect(server.url, "test")
        try:
            leases = await lease_stream(nc)
            feeds = [FeedLease(leases, f"f{i}", clock, 2_000) for i in range(4)]
            won = await asyncio.gather(*(f.hold() for f in feeds))
            assert sum(won) == 1
            # The compare-and-set, not a read before the write, decides: all read "free".
        finally:
            await nc.close()

    asyncio.run(scenario())
