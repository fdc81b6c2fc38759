"""A worker's follow turns, one shard's lock held for long (a reconciliation pass, a take): the
other shards' turns go on.

Found in a chaos run: a worker's interval reconciliation held a shard's lock for 2-3 s (longer
on a starved machine) and the follow pass, taking the shards one after another, waited behind
it with every shard after it, so their entries' stops grew seconds late. Stand-ins for the
worker and its traders: what is judged is only who waits for which lock."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from rampart.clock import SimClock
from rampart.fleet.shard_locks import ShardLocks
from rampart.fleet.worker_follow import follow_loop, follow_pass

YIELDS = 50
"""Turns of the event loop given to the follow turns (no request, no wall time in them)."""


class _Trader:
    def __init__(self, shard: int) -> None:
        self.shard = shard
        self.turns = 0

    def working(self) -> bool:
        return True  # an entry under way

    async def follow(self, now_ms: int | None = None) -> bool:
        self.turns += 1
        return True


class _Leases:
    away_since_ms = None

    def valid(self, shard: int) -> bool:
        return True


class _Worker:
    def __init__(self, *traders: _Trader) -> None:
        self.traders = {t.shard: t for t in traders}
        self.locks = ShardLocks()
        self.leases = _Leases()
        self.ops_clock = SimClock(0)
        self.stop = asyncio.Event()
        # A turn at once after the last (no wall time waited): each pass only yields.
        self.settings = SimpleNamespace(venue=SimpleNamespace(follow_every_s=0.0))


async def _yield() -> None:
    for _ in range(YIELDS):
        await asyncio.sleep(0)


def test_a_shard_whose_lock_is_held_keeps_no_other_shard_waiting_in_a_pass() -> None:
    async def go() -> None:
        held, free = _Trader(0), _Trader(1)
        worker = _Worker(held, free)
        async with worker.locks(held.shard):  # its reconciliation pass, say
            passing = asyncio.create_task(follow_pass(worker))  # type: ignore[arg-type]
            await _yield()
            assert (held.turns, free.turns) == (0, 1)
        assert await passing == 2
        assert held.turns == 1  # its turn came once its lock was free

    asyncio.run(go())


def test_the_loop_gives_the_other_shards_their_turns_while_one_waits_for_its_lock() -> None:
    async def go() -> None:
        held, free = _Trader(0), _Trader(1)
        worker = _Worker(held, free)
        async with worker.locks(held.shard):
            looping = asyncio.create_task(follow_loop(worker))  # type: ignore[arg-type]
            await _yield()
            assert held.turns == 0
            assert free.turns >= 3  # turn after turn, not held behind shard 0
            waiting = [t for t in asyncio.all_tasks() if t.get_name() == "follow-0"]
            assert len(waiting) == 1  # one turn waits for the lock, not one per pass
        await _yield()
        assert held.turns >= 1  # its turn came once its lock was free
        worker.stop.set()
        await looping

    asyncio.run(go())
