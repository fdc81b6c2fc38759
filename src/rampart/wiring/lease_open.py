"""Opening a shard a worker has claimed (issue 34; issue 54: off the worker's lock).

The heavy part of a take (the checkpoint loaded, the accounts restored, the agents warmed, an
exchange's books reconciled) runs without the worker's lock, so the shards it holds go on
trading and a takeover of several shards waits for none of the others. Then, under the lock,
the shard takes the operator's controls and the rollout stage from the store, trades the
candles that came while it opened (it skips what it has seen), and joins the shards the worker
trades. A shard whose lease ran out while it opened is given back, never traded.

Every order the shard's venue sends checks the lease on the clock
(:class:`~rampart.wiring.fenced_venue.FencedVenue`) and every write checks its token in the
write's transaction (:meth:`~rampart.store.leases.ShardLeases.fence`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from rampart.domain.errors import RampartError, StoreError, present
from rampart.observability.instrumented import instrument_venue
from rampart.store.leases import FencedOut
from rampart.store.scale_state import CONTROLS, read_state
from rampart.trading.ports import Venue
from rampart.venues.paper import PaperVenue
from rampart.wiring.fenced_venue import FencedVenue
from rampart.wiring.shard import ShardTrader
from rampart.wiring.worker_commands import apply_controls
from rampart.wiring.worker_notices import tell_investors
from rampart.wiring.worker_stage import apply_stage

if TYPE_CHECKING:
    from rampart.wiring.worker import Worker

log = structlog.get_logger("rampart.worker")

SHARD_ORDER_RANGE = 10**12
"""Order numbers each shard's paper venue may use (P3000000000001… for shard 3)."""


def fence(worker: Worker, shard: int, conn: Any) -> None:
    leases = present(worker.leases, "the shard leases (the worker is open)")
    try:
        leases.fence(conn, [shard])
    except FencedOut:
        worker.metrics.scale.fenced.labels(what="write").inc()
        raise


def wrap(worker: Worker, shard: int, venue: Venue) -> Venue:
    leases = present(worker.leases, "the shard leases (the worker is open)")
    if isinstance(venue, PaperVenue) and venue.core.seq == 0:
        # Shards share the store, whose fill ids are unique: each shard's paper venue
        # numbers its orders in a range of its own (a checkpoint carries the number on).
        venue.core.seq = shard * SHARD_ORDER_RANGE
    fenced = FencedVenue(
        venue,
        valid=partial(leases.valid, shard),
        refused=worker.metrics.scale.fenced.labels(what="order").inc,
        shard=shard,
    )
    ccxt = worker.settings.venue.kind == "ccxt"
    return instrument_venue(fenced, worker.metrics, worker.venue_label, count_calls=not ccxt)


async def take_shard(worker: Worker, shard: int) -> None:
    """Open ``shard`` and start trading it; given back at once if that fails."""
    leases = present(worker.leases, "the shard leases (the worker is open)")
    started = time.perf_counter()
    trader = ShardTrader(
        shard,
        worker.scale.shards,
        worker.settings,
        worker.clock,
        worker.instruments,
        db=worker.db,
        fence=partial(fence, worker, shard),
        wrap_venue=partial(wrap, worker, shard),
        lock=worker.lock,
    )
    worker.watch.watch(trader)
    if worker.notices is not None:
        tell_investors(trader, worker.notices)
    try:
        if await trader.take(worker.recent_candles()):
            worker.takes.decided(shard)  # it traded the candles after its checkpoint
        async with worker.lock:
            if not leases.valid(shard):
                raise StoreError(f"The lease on shard {shard} ran out while it was opened.")
            # The controls first: a kill switch engaged while it opened holds these candles too.
            controls = await asyncio.to_thread(read_state, worker.db, CONTROLS)
            await apply_controls(trader, controls)
            await apply_stage(worker, trader)
            for candle in sorted(worker.recent_candles(), key=lambda c: (c.close_ts, c.symbol)):
                if await trader.trade(candle):  # came while it opened
                    worker.traded += 1
                    worker.takes.decided(shard)
            worker.traders[shard] = trader
    except Exception as err:
        # Given back at once: another worker (or this one, next round) tries again. Whatever
        # failed: a take runs on a task of its own, and a shard whose take died unseen would
        # stay claimed (its lease renewed by the keeper) and never trade.
        message = err.message if isinstance(err, RampartError) else f"{type(err).__name__}: {err}"
        log.error("shard_take_failed", shard=shard, error=message)
        worker.takes.forget(shard)
        await trader.drop()
        lease = leases.leases.get(shard)
        if lease is not None:
            with contextlib.suppress(StoreError):
                await asyncio.to_thread(leases.release, lease)
        gc.collect()
        return
    worker.metrics.scale.failovers.inc()
    worker.metrics.scale.handover.observe(time.perf_counter() - started)
    # A take follows a shard let go somewhere (here or in a crashed worker of this process):
    # cycles only a full collection frees (engine, session, venue); left to the collector,
    # takeovers grew a worker's memory 5 % in 3 h of the soak.
    gc.collect()
    async with worker.progress:
        worker.progress.notify_all()


__all__ = ["SHARD_ORDER_RANGE", "fence", "take_shard", "wrap"]
