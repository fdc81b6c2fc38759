"""A worker's orders under way followed between candles.

Every ``venue.follow_every_s`` each held shard whose venue has an order under way (a market
entry the exchange fills in many trades, an order partly filled, a create not confirmed) asks
the exchange about those orders and books what it reports, its stop grown with the position
(:func:`~rampart.trading.following.follow_orders`), under the shard's own lock as a candle
takes it. Before, they were asked about only at the shard's next candle, so a worker booked the
first trade of an entry and placed its stop for that amount only until then.

The shards' turns run side by side, each waiting for its own lock only. One after another, a
shard whose lock a reconciliation pass or a take held for seconds kept every shard after it
waiting, and the pass after it late: the stops of those shards' entries grew that much later.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from rampart.domain.errors import RampartError
from rampart.fleet.lease_open import acting

if TYPE_CHECKING:
    from rampart.fleet.shard import ShardTrader
    from rampart.fleet.worker_state import WorkerState

log = structlog.get_logger("rampart.worker.follow")


def _working(worker: WorkerState) -> list[ShardTrader]:
    """The held shards with an order under way (the others take no lock, make no request)."""
    return [trader for trader in list(worker.traders.values()) if trader.working()]


async def follow_shard(worker: WorkerState, trader: ShardTrader) -> bool:
    """One shard's turn, under its lock; whether it asked its venue."""
    async with worker.locks(trader.shard):
        if worker.traders.get(trader.shard) is not trader:
            return False  # handed back or lost meanwhile
        if not acting(worker, trader):
            return False  # not ours by our own clock: its next holder reconciles it
        try:
            return await trader.follow(worker.ops_clock.now_ms())
        except RampartError as exc:  # the venue away: the next turn, or the candle, asks
            log.warning("follow_failed", shard=trader.shard, error=exc.message)
            return False


async def follow_pass(worker: WorkerState) -> int:
    """Follow every held shard's orders under way, side by side; the shards that asked."""
    asked = await asyncio.gather(*(follow_shard(worker, t) for t in _working(worker)))
    return sum(asked)


async def follow_loop(worker: WorkerState) -> None:
    """A turn every ``follow_every_s`` for each shard with an order under way; a shard whose
    turn still waits for its lock gets no second one meanwhile, and delays no other's."""
    every_s = worker.settings.venue.follow_every_s
    turns: dict[int, asyncio.Task[bool]] = {}
    try:
        while not worker.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.stop.wait(), every_s)
            if worker.stop.is_set():
                break
            for shard, turn in list(turns.items()):
                if turn.done():
                    del turns[shard]
                    turn.result()  # anything but a venue's error ends the worker, as before
            for trader in _working(worker):
                if trader.shard not in turns:
                    turns[trader.shard] = asyncio.create_task(
                        follow_shard(worker, trader), name=f"follow-{trader.shard}"
                    )
    finally:
        for turn in turns.values():
            turn.cancel()
        await asyncio.gather(*turns.values(), return_exceptions=True)


__all__ = ["follow_loop", "follow_pass", "follow_shard"]
