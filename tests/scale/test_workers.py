"""Workers sharing the accounts, in one process against a real NATS server with
JetStream and the store (SQLite and PostgreSQL): candles published once by the feed reach every
worker; a second worker gets its share by a clean handover (checkpoint, release, take); a
worker that stops renewing loses its shards to the other at the end of its lease; its late
writes and orders are refused by the fence and nothing of them is saved.

Liveness (leases, heartbeats) runs on an injected SimClock: the test advances it, never sleeps.
Waiting for candles to arrive over NATS waits on the worker's progress condition, bounded only
so that a broken test fails instead of hanging."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import AccountConfig, Settings, load_settings
from rampart.domain.shards import shard_of
from rampart.fleet.shard import checkpoint_name
from rampart.fleet.worker import Worker
from rampart.market.service_feed import feed_of
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.store.queries import load_checkpoint
from rampart.wiring.fleet_parts import build_feed, build_worker
from tests.scale.nats_server import NatsServer, nats_server

SHARDS = 4
LEASE_S = 6.0
HANG_GUARD_S = 60.0
"""Only so that a broken test fails instead of hanging; nothing is asserted on time."""


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


def settings_for(nats_url: str, db_url: str) -> Settings:
    accounts = [
        AccountConfig(
            id=f"acct-{i:02d}",
            agent="trend" if i % 2 else "breakout",
            profile="aggressive",
            symbols=["BTC/USDT", "ETH/USDT"],
        )
        for i in range(12)
    ]
    return load_settings(
        store={"url": db_url, "checkpoint_every": 50},
        feed={"kind": "synthetic", "symbols": ["BTC/USDT", "ETH/USDT"], "seed": 7},
        accounts=accounts,
        alerts={"enabled": False},
        api={"enabled": False},
        scale={"nats_url": nats_url, "shards": SHARDS, "lease_s": LEASE_S, "renew_every_s": 1.0},
    )


async def publish(settings: Settings, candles: int) -> None:
    feed = build_feed(
        settings, Console(quiet=True), install_signals=False, paced=False, max_candles=candles
    )
    await feed.run()


def close_of(settings: Settings, published: int) -> int:
    """The close time of the last of the first ``published`` candles of the feed."""
    stream, _typical, _symbols = feed_of(settings)
    last = 0
    for _, candle in zip(range(published), stream(), strict=False):
        last = candle.close_ts
    return last


async def traded_until(worker: Worker, close_ts: int) -> None:
    """Every shard the worker holds has traded both symbols up to ``close_ts``."""
    await until(
        worker,
        lambda: all(
            t.engine.data_ts.get(s, 0) >= close_ts
            for t in worker.traders.values()
            for s in ("BTC/USDT", "ETH/USDT")
        ),
    )


async def heartbeat(sender: CommandSender, *workers: Worker) -> None:
    """The command stream's heartbeat, heard by every worker (at their clock's now)."""
    for worker in workers:
        assert worker.receiver is not None
        worker.receiver.heard.clear()
    await sender.heartbeat()
    for worker in workers:
        assert worker.receiver is not None
        await asyncio.wait_for(worker.receiver.heard.wait(), HANG_GUARD_S)


async def until(worker: Worker, done: Callable[[], bool]) -> None:
    async def wait() -> None:
        async with worker.progress:
            await worker.progress.wait_for(done)

    await asyncio.wait_for(wait(), HANG_GUARD_S)


async def started(worker: Worker) -> asyncio.Task[None]:
    await worker.open()
    assert worker.subscription is not None
    return asyncio.create_task(worker.subscription.run(worker.stop))


def holders(workers: list[Worker]) -> dict[str, str]:
    """Which worker trades each account."""
    found: dict[str, str] = {}
    for worker in workers:
        for trader in worker.traders.values():
            for account_id in trader.engine.accounts:
                assert account_id not in found, f"{account_id} traded twice"
                found[account_id] = worker.name
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return str(answer.read().decode())


def run(coro: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(coro())


def test_two_workers_share_the_accounts_and_a_stopped_one_is_taken_over(
    nats: NatsServer, db_url: str
) -> None:
    settings = settings_for(nats.url, db_url)
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def scenario() -> None:
        await publish(settings, 600)  # 300 bars of each symbol: the history workers warm on
        nc = await connect(nats.url, "test-sender")
        sender = CommandSender(nc, await command_stream(nc), clock)
        port = _free_port()
        watched = settings.model_copy(
            update={"scale": settings.scale.model_copy(update={"metrics_port": port})}
        )
        w1 = build_worker(watched, console, name="w1", ops_clock=clock, install_signals=False)
        t1 = await started(w1)
        await until(w1, lambda: w1.caught_up)
        await heartbeat(sender, w1)
        await w1.lease_round()  # the first round says it is here
        await w1.lease_round()
        assert sorted(w1.traders) == [0, 1, 2, 3]  # alone: every shard
        scraped = await asyncio.to_thread(_scrape, port)
        assert "rampart_worker_shards 4.0" in scraped
        assert "rampart_shard_takeovers_total 4.0" in scraped
        assert len(holders([w1])) == 12
        await publish(settings, 200)
        await traded_until(w1, close_of(settings, 800))
        assert w1.traded == 200 * SHARDS  # every new candle, once per shard

        # A second worker joins: a clean handover of two shards, checkpointed then taken.
        w2 = build_worker(settings, console, name="w2", ops_clock=clock, install_signals=False)
        t2 = await started(w2)
        await until(w2, lambda: w2.caught_up)
        clock.advance(1_000)
        await heartbeat(sender, w1, w2)
        await w2.lease_round()  # counted among the workers; nothing is free yet
        assert w2.traders == {}
        handed = {s: dict(w1.traders[s].engine.snapshot()["accounts"]) for s in (2, 3)}
        # They have traded: the checkpoint carries orders (and the paper venue's books).
        assert sum(a["ledger"]["fills_booked"] for h in handed.values() for a in h.values()) > 0
        await w1.lease_round()
        assert sorted(w1.traders) == [0, 1]
        await w2.lease_round()
        assert sorted(w2.traders) == [2, 3]
        for shard in (2, 3):
            # The new owner resumes from the checkpoint the old one wrote when it let go.
            assert dict(w2.traders[shard].engine.snapshot()["accounts"]) == handed[shard]
        owners = holders([w1, w2])
        assert sorted(owners) == [f"acct-{i:02d}" for i in range(12)]
        for account_id, name in owners.items():
            assert name == ("w1" if shard_of(account_id, SHARDS) in (0, 1) else "w2")

        # w1 stops renewing (a crash, a pause): w2 takes its shards once its leases ran out.
        clock.advance(1_000)
        await w2.lease_round()
        assert sorted(w2.traders) == [2, 3]  # w1's leases still run
        clock.advance(int(LEASE_S * 1000))
        await heartbeat(sender, w2)
        await w2.lease_round()
        assert sorted(w2.traders) == [0, 1, 2, 3]
        assert len(holders([w2])) == 12

        # w1 wakes up: its lease has run out by its own clock, so it trades nothing more, and
        # a write it had in hand is refused by the fence; nothing of it is saved.
        stale = w1.traders[0]
        saved_before = load_checkpoint(w1.db, checkpoint_name(0))
        assert await stale.session.checkpoint_off_loop() is False
        assert load_checkpoint(w1.db, checkpoint_name(0)) == saved_before
        assert w1.metrics.scale.fenced.labels(what="write")._value.get() >= 1
        await w1.lease_round()  # it learns the shards are gone, and writes nothing
        assert w1.traders == {}

        # Trading goes on, on w2 only.
        await publish(settings, 40)
        await traded_until(w2, close_of(settings, 840))
        for worker, task in ((w1, t1), (w2, t2)):
            worker.stop.set()
            await task
            await worker.aclose()
        await nc.close()

    run(scenario)
