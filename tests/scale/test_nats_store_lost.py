"""A nats-server restarted on an empty store (its JetStream store lost): the streams are gone.
A trading worker finds its market stream re-created under it and subscribes again from its
start by itself, trading each new candle once per shard (what it traded before is skipped);
a feed whose leader lease's stream was lost creates it again and leads again by itself."""

from __future__ import annotations

import asyncio
import shutil
import time
from itertools import islice
from pathlib import Path
from typing import Any

from rich.console import Console

from rampart.clock import SimClock
from rampart.fleet.worker import COMMANDS_CHECKED_EVERY
from rampart.market.service_feed import feed_of
from rampart.messaging.commands import CommandSender
from rampart.messaging.feed_lease import LEASE_STREAM
from rampart.messaging.market import CandlePublisher, market_stream
from rampart.messaging.nats_link import STREAM, command_stream, connect
from rampart.operator.fleet import Fleet
from rampart.wiring.fleet_parts import build_feed, build_worker
from tests.scale.nats_server import NatsServer, require_nats
from tests.scale.test_nats_restart import reconnected
from tests.scale.test_workers import (
    HANG_GUARD_S,
    SHARDS,
    close_of,
    publish,
    settings_for,
    started,
    traded_until,
    until,
)

BACK_WITHIN_S = 30.0


def test_a_worker_trades_again_after_nats_lost_its_store(tmp_path: Path) -> None:
    store = tmp_path / "nats"
    server = NatsServer(store)
    require_nats(server)
    settings = settings_for(server.url, f"sqlite:///{tmp_path / 'rampart.db'}")
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def scenario() -> None:
        await publish(settings, 600)
        w1 = build_worker(settings, console, name="w1", ops_clock=clock, install_signals=False)
        t1 = await started(w1)
        await until(w1, lambda: w1.caught_up)
        await w1.lease_round()
        await w1.lease_round()
        await publish(settings, 100)
        await traded_until(w1, close_of(settings, 700))
        traded = w1.traded

        await asyncio.to_thread(server.stop)
        shutil.rmtree(store)  # the store is lost: no stream survives
        await asyncio.to_thread(server.start)
        back = time.monotonic()  # the bound asserted is on the wall: NATS's own time
        await reconnected(w1.nc)

        # A feed on the empty server publishes the live candles: on a stream created again,
        # at sequences far below those the worker's consumer had reached. The worker finds
        # its stream re-created, reads it from its start and trades the 60 new candles.
        nc = await connect(server.url, "test-feed")
        publisher = CandlePublisher(await market_stream(nc, settings.scale.market_keep))
        stream, _typical, _symbols = feed_of(settings)
        for candle in islice(stream(), 700, 760):
            await publisher.publish(candle)
        await nc.close()
        await traded_until(w1, close_of(settings, 760))
        assert time.monotonic() - back < BACK_WITHIN_S
        assert w1.subscription is not None and w1.subscription.resubscribed >= 1
        assert w1.traded == traded + 60 * SHARDS

        # Commands too: the server's sender creates the command stream again for a kill
        # switch, the worker's next checks make its consumer again, and it applies the kill.
        admin = await connect(server.url, "test-sender")
        remake = lambda: command_stream(admin)  # noqa: E731
        sender = CommandSender(admin, await command_stream(admin), clock, recreate=remake)
        await admin.jetstream().delete_stream(STREAM)  # as the empty store left it
        fleet = Fleet(w1.db, sender, clock, shards=SHARDS, ack_timeout_s=1.0)
        sent = asyncio.create_task(fleet.kill("ops", "after the store was lost", False))
        for _ in range(COMMANDS_CHECKED_EVERY):
            await w1.lease_round()
        await sent
        assert w1.receiver is not None and w1.receiver.resubscribed == 1
        killed = lambda: all(t.engine.controls.global_kill for t in w1.traders.values())  # noqa: E731
        for _ in range(20):  # each round is an event of the worker's; the kill lands in one
            if killed():
                break
            await w1.lease_round()
        assert killed()
        await admin.close()

        w1.stop.set()
        await t1
        await w1.aclose()

    try:
        asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD_S * 2))
    finally:
        server.stop()


def test_a_feed_leads_again_after_its_lease_stream_is_lost(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    require_nats(server)
    settings = settings_for(server.url, f"sqlite:///{tmp_path / 'rampart.db'}")

    async def scenario() -> None:
        feed = build_feed(settings, Console(quiet=True), install_signals=False, paced=True)
        running = asyncio.create_task(feed.run())
        await asyncio.wait_for(feed.leading.wait(), HANG_GUARD_S)
        nc = await connect(server.url, "test-admin")
        js = nc.jetstream()
        await js.delete_stream(LEASE_STREAM)  # as an empty store leaves it
        lost, published = time.monotonic(), feed.published
        # Renewed on a stream that is gone, the lease would run out and no feed could ever
        # lead again: the feed creates the stream again and holds its lease on it.
        await asyncio.wait_for(_lease_written(js), BACK_WITHIN_S)
        assert time.monotonic() - lost < BACK_WITHIN_S
        past_lease = settings.scale.feed_lease_s * 2
        await asyncio.wait_for(_published_beyond(feed, published, past_lease), BACK_WITHIN_S)
        assert feed.lease is not None and feed.lease.valid()
        feed.stop.set()
        await asyncio.wait_for(running, HANG_GUARD_S)
        await nc.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


async def _lease_written(js: Any) -> None:
    """Until the lease's stream exists again and holds the lease (polling NATS's answer)."""
    while True:
        try:
            if (await js.stream_info(LEASE_STREAM)).state.messages >= 1:
                return
        except Exception:  # noqa: S110 - not there yet
            pass
        await asyncio.sleep(0.1)


async def _published_beyond(feed: Any, published: int, seconds: float) -> None:
    """Until the feed has gone on publishing for longer than ``seconds`` of candles after
    ``published`` (past when a lease it could not renew would have run out)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds or feed.published <= published:
        await asyncio.sleep(0.1)
