"""A worker's orders under way followed between candles.

Every ``venue.follow_every_s`` each held shard whose venue has an order under way (a market
entry the exchange fills in many trades, an order partly filled, a create not confirmed) asks
the exchange about those orders and books what it reports, its stop grown with the position
(:func:`~rampart.trading.following.follow_orders`), under the shard's own lock as a candle
takes it. Before, they were asked about only at the shard's next candle, so a worker booked the
first trade of an entry and placed its stop for that amount only until then.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from rampart.domain.errors import RampartError
from rampart.fleet.lease_open import acting

if TYPE_CHECKING:
    from rampart.fleet.worker import Worker

log = structlog.get_logger("rampart.worker.follow")


async def follow_pass(worker: Worker) -> int:
    """Follow every held shard's orders under way; the shards that asked their venue."""
    asked = 0
    for trader in list(worker.traders.values()):
        if not trader.working():
            continue  # nothing under way: no lock taken, no request made
        async with worker.locks(trader.shard):
            if worker.traders.get(trader.shard) is not trader:
                continue  # handed back or lost meanwhile
            if not acting(worker, trader):
                continue  # not ours by our own clock: its next holder reconciles it
            try:
                asked += await trader.follow(worker.ops_clock.now_ms())
            except RampartError as exc:  # the venue away: the next turn, or the candle, asks
                log.warning("follow_failed", shard=trader.shard, error=exc.message)
    return asked


async def follow_loop(worker: Worker) -> None:
    every_s = worker.settings.venue.follow_every_s
    while not worker.stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(worker.stop.wait(), every_s)
        if not worker.stop.is_set():
            await follow_pass(worker)


__all__ = ["follow_loop", "follow_pass"]
