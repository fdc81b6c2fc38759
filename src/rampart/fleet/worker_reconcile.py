"""A worker's interval reconciliation, one shard at a time, yielding to takes.

Each held shard is reconciled with its exchange every :data:`EVERY_S`, under the worker's
lock (the pass books into the engine a candle trades). Under a CPU-starved machine a shard's
pass held that lock for seconds, and a shard just taken over waited behind it for its first
decision: in a 5-minute chaos run, 4-6 s of a takeover's 13-15 s were another shard's interval
pass. A pass now starts only while no shard is being taken or awaits its first decision
(:attr:`~rampart.fleet.lease_takes.Takeovers.quiet`), waiting at most :data:`MAX_DEFER_S` for
that: an interval pass is a safety net that can come seconds late (a takeover's own pass, which
the first order on a shard does wait for, is not this one), and a worker whose takes never
settle still reconciles. The full pass that follows a take
(:func:`~rampart.fleet.lease_open.check_after_take`) stands for the shard's next interval pass.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rampart.fleet.worker_state import WorkerState

EVERY_S = 30.0
"""How often each held shard is reconciled (wall seconds, the worker's loop)."""
MAX_DEFER_S = 30.0
"""How long a shard's interval pass waits for the takes under way to trade, at most."""


async def quiet_or_late(worker: WorkerState, max_defer_s: float = MAX_DEFER_S) -> bool:
    """Wait until no take is under way (True), or ``max_defer_s`` (False), or a stop."""
    quiet = worker.takes.quiet
    if quiet.is_set():
        return True
    stop = asyncio.ensure_future(worker.stop.wait())
    settled = asyncio.ensure_future(quiet.wait())
    try:
        await asyncio.wait(
            {stop, settled}, timeout=max_defer_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in (stop, settled):
            waiter.cancel()
    return quiet.is_set()


async def reconcile_pass(worker: WorkerState, max_defer_s: float = MAX_DEFER_S) -> int:
    """Reconcile every shard held, each under the lock and after the takes under way have
    traded; the shards reconciled."""
    done = 0
    for trader in list(worker.traders.values()):
        await quiet_or_late(worker, max_defer_s)
        if worker.stop.is_set():
            break
        # The shard's own lock, as a candle takes it: a worker-wide one held over the pass kept
        # every shard's candles (a shard just taken included) waiting seconds on a busy machine.
        async with worker.locks(trader.shard):
            if worker.traders.get(trader.shard) is trader and trader.interval_due():
                await trader.reconcile("interval")
                done += 1
    return done


async def reconcile_loop(worker: WorkerState, every_s: float = EVERY_S) -> None:
    while not worker.stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(worker.stop.wait(), every_s)
        await reconcile_pass(worker)


__all__ = ["EVERY_S", "MAX_DEFER_S", "quiet_or_late", "reconcile_loop", "reconcile_pass"]
