"""A worker's locks: one per shard, and one for the operator's commands.

A shard's candle, its take's last steps, its reconciliation pass and its hand-back each hold
that shard's lock, so two of them never interleave on one shard's books. Shards share no
books, so they do not wait for each other: under one worker-wide lock, a shard just taken
waited 2-8 s on a machine with its CPU oversubscribed 2x for the candles of the shards held
before it (its first decision with it), and its reconciliation pass for theirs.

A command touches every shard: it takes each shard's lock in turn, holding the commands' lock
throughout, so that a later command never overtakes an earlier one on any shard (the kill
switch's cancels before a release).

A clean stop's last passes and hand-backs run every shard's at once (:func:`side_by_side`):
handed back one after another, a worker holding ten shards on a machine at 4x its cores spent
0.55 s a shard and met its 9 s stop deadline with three still held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable


class ShardLocks:
    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self.commands = asyncio.Lock()
        """Held by a command over all its shards: commands apply in the order they came."""

    def __call__(self, shard: int) -> asyncio.Lock:
        """``shard``'s lock, the same one for every trader the shard has had here: a trader
        let go and the one opened after it never act on the shard at once."""
        lock = self._locks.get(shard)
        if lock is None:
            lock = self._locks[shard] = asyncio.Lock()
        return lock


async def side_by_side(
    locks: ShardLocks, shards: Iterable[int], work: Callable[[int], Awaitable[object]]
) -> list[BaseException]:
    """``work(shard)`` for every shard at once, each under its shard's lock; what any of them
    raised, once all are done (one shard's failure never cuts another's short)."""

    async def one(shard: int) -> None:
        async with locks(shard):
            await work(shard)

    results = await asyncio.gather(*(one(s) for s in shards), return_exceptions=True)
    return [r for r in results if isinstance(r, BaseException)]


__all__ = ["ShardLocks", "side_by_side"]
