"""A worker's leases live on their own schedule but only while its loop turns:
a ``rampart worker`` running (its rounds, its market subscription, its keeper
thread) against a real NATS server and PostgreSQL holds its shards while its event loop is slow
for three leases of ops time, and the shards it took record their first decision (the resume
time a failover is measured by); a loop stuck past a lease lets them go to another worker.

The ops clock is a SimClock the test advances while the loop is blocked; it waits on the
keeper's renewals (bounded only so that a broken test fails instead of hanging)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.fleet.shard import ShardTrader
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases, lease_table
from rampart.store.scale_state import take_failures
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer, nats_server
from tests.scale.test_workers import (
    HANG_GUARD_S,
    SHARDS,
    publish,
    settings_for,
    started,
    until,
)

LEASE_MS = 6_000


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


def test_a_slow_loop_keeps_its_leases_and_a_stuck_one_lets_them_go(
    nats: NatsServer, pg_url: str
) -> None:
    base = settings_for(nats.url, pg_url)
    # Rounds and renewals every 0.1 s of wall time: the worker gets going at once.
    scale = base.scale.model_copy(update={"renew_every_s": 0.1, "lease_s": LEASE_MS / 1000})
    settings = base.model_copy(update={"scale": scale})
    clock = SimClock(1_000_000)
    console = Console(quiet=True)

    async def scenario() -> None:
        await publish(settings, 40)
        worker = build_worker(
            settings, console, name="busy", ops_clock=clock, install_signals=False
        )
        running = asyncio.create_task(worker.run())
        await until(worker, lambda: len(worker.traders) == SHARDS)
        keeper, leases = worker.keeper, worker.leases
        assert keeper is not None and leases is not None
        db = open_database(pg_url)
        peer = ShardLeases(db, "peer", clock, LEASE_MS)
        try:
            # A slow loop: it turns (a short await) between steps of a sixth of a lease, and
            # three leases of ops time pass. The keeper's thread renews throughout.
            for _ in range(18):
                clock.advance(LEASE_MS // 6)
                assert keeper.wait_renewals(keeper.renewals + 2, HANG_GUARD_S)
                await asyncio.sleep(0.05)
            assert all(leases.valid(s) for s in range(SHARDS))
            assert [peer.acquire(s) for s in range(SHARDS)] == [None] * SHARDS
            age = worker.metrics.registry.get_sample_value("rampart_worker_lease_age_seconds")
            assert age is not None and age < LEASE_MS / 3 / 1000  # the keeper's renewals

            # The shards go on trading: each records its first decision since its claim.
            await publish(settings, 4)
            await until(worker, lambda: set(worker.takes.resumed) == set(range(SHARDS)))
            resumed = worker.metrics.registry.get_sample_value("rampart_shard_resume_seconds_count")
            assert resumed == SHARDS

            # A stuck loop (no await at all, as a synchronous call to a silent database):
            # after a lease the keeper renews no more, the leases run out, and another worker
            # takes every shard (one once kept its shards for 29 minutes).
            renewed = keeper.renewals
            for _ in range(15):
                clock.advance(LEASE_MS // 6)
                assert keeper.wait_ticks(keeper.ticks + 2, HANG_GUARD_S)
            assert keeper.skipped > 0 and keeper.renewals - renewed <= 14
            taken = [peer.acquire(s) for s in range(SHARDS)]
            assert all(lease is not None for lease in taken)
            assert not any(leases.valid(s) for s in range(SHARDS))
            await until(worker, lambda: not worker.traders)  # dropped once the loop turns
        finally:
            worker.stop.set()
            await asyncio.wait_for(running, HANG_GUARD_S)
            db.dispose()

    asyncio.run(scenario())


def test_a_take_that_fails_unexpectedly_gives_the_shard_back(
    nats: NatsServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A take runs on a task of its own: one that dies of a bug must not leave its shard
    claimed (renewed by the keeper) and never traded."""
    base = settings_for(nats.url, pg_url)
    scale = base.scale.model_copy(update={"renew_every_s": 0.1, "lease_s": LEASE_MS / 1000})
    settings = base.model_copy(update={"scale": scale})
    clock = SimClock(1_000_000)
    take = ShardTrader.take

    async def broken(self: ShardTrader, recent: Any) -> int:
        if self.shard == 0:
            raise ValueError("a bug in the take")
        return await take(self, recent)

    monkeypatch.setattr(ShardTrader, "take", broken)

    async def scenario() -> None:
        await publish(settings, 40)
        worker = build_worker(
            settings, Console(quiet=True), name="w", ops_clock=clock, install_signals=False
        )
        market = await started(worker)
        try:
            await until(worker, lambda: worker.caught_up)
            await worker.lease_round()  # the first round says it is here
            await worker.lease_round()
            assert sorted(worker.traders) == [1, 2, 3]
            assert worker.leases is not None and 0 not in worker.leases.leases
            holder = lease_table(worker.db)[0]
            assert not holder.live(clock.now_ms())  # free for any worker to try again
            # Counted against its version, for a deploy's gate.
            assert take_failures(worker.db, worker.version, 0) == 1
        finally:
            worker.stop.set()
            await market
            await worker.aclose()

    asyncio.run(scenario())
