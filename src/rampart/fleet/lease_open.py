"""Opening a shard a worker has claimed (off the locks).

The heavy part of a take (the checkpoint loaded, the accounts restored, the agents warmed, an
exchange's books reconciled) runs without a lock, so the shards it holds go on trading and a
takeover of several shards waits for none of the others. Then, under the shard's own lock
(``shard_locks``: never behind the candles of the shards held before it), the shard takes
the operator's controls and the rollout stage from the store, makes its first decision on
the newest candle the worker holds (the take left it undecided; the worker's next candle round
is not waited for), and joins the shards the worker trades. A shard
whose lease ran out while it opened is given back, never traded.

Every order the shard's venue sends checks the lease on the clock
(:class:`~rampart.fleet.fenced_venue.FencedVenue`) and every write checks its token in the
write's transaction (:meth:`~rampart.store.leases.ShardLeases.fence`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from rampart.domain.errors import RampartError, StoreError, present
from rampart.fleet.fenced_venue import FencedVenue
from rampart.fleet.lease_takes import CHECK_DEADLINE_S, TAKE_DEADLINE_S
from rampart.fleet.risk_kill import relay_risk_kill
from rampart.fleet.shard import ShardTrader
from rampart.fleet.take_phases import Phases
from rampart.fleet.worker_commands import apply_controls
from rampart.fleet.worker_notices import tell_investors
from rampart.fleet.worker_reconcile import MAX_DEFER_S, quiet_or_late
from rampart.fleet.worker_stage import apply_stage
from rampart.observability.instrumented import instrument_venue
from rampart.store.leases import FencedOut
from rampart.store.scale_state import CONTROLS, read_state, record_take_failure
from rampart.trading.ports import Venue
from rampart.venues.paper import PaperVenue

if TYPE_CHECKING:
    from rampart.fleet.worker_state import WorkerState as Worker

log = structlog.get_logger("rampart.worker")

SHARD_ORDER_RANGE = 10**12
"""Order numbers each shard's paper venue may use (P3000000000001… for shard 3)."""


def holds(worker: Worker, shard: int, token: int) -> bool:
    """Whether the lease this trader was opened under still holds: a shard this worker lost
    and claimed again has a new token, and the trader opened under the old one is stale (it
    lives on until its drop, which awaits its streams' close) and must act no more."""
    leases = present(worker.leases, "the shard leases (the worker is open)")
    lease = leases.leases.get(shard)
    return lease is not None and lease.token == token and leases.valid(shard)


def covers(worker: Worker, shard: int, token: int) -> bool:
    """Whether this trader may still cover the coins its shard holds: :func:`holds`, or the
    database away and the lease it was opened under within the grace past its end
    (:meth:`~rampart.store.leases.ShardLeases.protects`)."""
    leases = present(worker.leases, "the shard leases (the worker is open)")
    lease = leases.leases.get(shard)
    grace_ms = int(worker.scale.protect_away_s * 1000)
    return lease is not None and lease.token == token and leases.protects(shard, grace_ms)


def acting(worker: Worker, trader: ShardTrader) -> bool:
    """Whether the worker's rounds act on ``trader``'s shard now: its lease holds by the
    worker's clock, or the database is away and the shard's coins are still its to cover
    (:func:`covers`). While the renewals fail on the database the shard opens no position:
    its entries are refused in words (the store-down gate) whatever the lease's age."""
    leases = worker.leases
    if leases is None:
        return False
    if leases.away_since_ms is not None:
        trader.protect_only()
    return leases.valid(trader.shard) or covers(worker, trader.shard, trader.token)


def fence(worker: Worker, shard: int, token: int, conn: Any) -> None:
    leases = present(worker.leases, "the shard leases (the worker is open)")
    try:
        leases.fence(conn, [shard])
        lease = leases.leases.get(shard)
        if lease is None or lease.token != token:
            current = lease.token if lease is not None else -1
            raise FencedOut(leases.owner, shard, token, current, leases.owner)
    except FencedOut:
        worker.metrics.scale.fenced.labels(what="write").inc()
        raise


def wrap(worker: Worker, shard: int, token: int, venue: Venue) -> Venue:
    if isinstance(venue, PaperVenue) and venue.core.seq == 0:
        # Shards share the store, whose fill ids are unique: each shard's paper venue
        # numbers its orders in a range of its own (a checkpoint carries the number on).
        venue.core.seq = shard * SHARD_ORDER_RANGE
    fenced = FencedVenue(
        venue,
        valid=partial(holds, worker, shard, token),
        refused=worker.metrics.scale.fenced.labels(what="order").inc,
        shard=shard,
        protect=partial(covers, worker, shard, token),
    )
    ccxt = worker.settings.venue.kind == "ccxt"
    return instrument_venue(fenced, worker.metrics, worker.venue_label, count_calls=not ccxt)


async def let_go(worker: Worker, trader: ShardTrader, claim_ms: int | None, token: int) -> None:
    """What a take that did not finish opened, let go of: its trader (never traded, or
    dropped), and its lease, if still the one it was opened under. A round may have claimed
    the shard again meanwhile (the failed take released its lease, or the lease ran out): that
    newer claim and its lease are not this take's to forget or release (releasing it left the
    shard unheld until another worker's round, 2-5 s in a chaos run)."""
    leases = present(worker.leases, "the shard leases (the worker is open)")
    shard = trader.shard
    if worker.takes.claimed_ms.get(shard) == claim_ms:
        worker.takes.forget(shard)
    if worker.traders.get(shard) is trader:
        del worker.traders[shard]
    await trader.drop()
    lease = leases.leases.get(shard)
    if lease is not None and lease.token == token:
        with contextlib.suppress(StoreError):
            await asyncio.to_thread(leases.release, lease)
    gc.collect()


def next_to_trade(
    traders: Mapping[int, ShardTrader], claimed: Mapping[int, int], done: list[ShardTrader]
) -> ShardTrader | None:
    """The shard to trade a candle on next among those not ``done`` with it: one awaiting its
    first decision since its claim first, then in the order they were taken. None whose
    reconciliation pass holds its lock (:attr:`ShardTrader.passing`): the round does not wait."""
    first = None
    for trader in list(traders.values()):
        if trader.passing or any(trader is d for d in done):
            continue
        if trader.shard in claimed:
            return trader
        if first is None:
            first = trader
    return first


def stale_traders(worker: Worker) -> list[int]:
    """Shards whose trader was opened under a lease this worker no longer holds (lost, and
    perhaps claimed back since under a new token): such a trader refuses every order and
    write (:func:`holds`), and while it sat in ``worker.traders`` the round never opened the
    shard's new lease, so the shard traded nowhere."""
    leases = present(worker.leases, "the shard leases (the worker is open)")
    out = []
    for shard, trader in list(worker.traders.items()):
        lease = leases.leases.get(shard)
        if lease is None or lease.token != trader.token:
            out.append(shard)
    return out


def build_trader(worker: Worker, shard: int, token: int) -> ShardTrader:
    trader = worker.parts.trader(
        shard,
        worker.scale.shards,
        worker.clock,
        worker.instruments,
        db=worker.db,
        fence=partial(fence, worker, shard, token),
        wrap_venue=partial(wrap, worker, shard, token),
    )
    trader.token = token
    worker.watch.watch(trader)
    relay_risk_kill(worker, trader)
    if worker.notices is not None:
        tell_investors(trader, worker.notices)
    return trader


async def failed(
    worker: Worker, trader: ShardTrader, claim_ms: int | None, token: int, err: BaseException
) -> None:
    """Given back at once: another worker (or this one, next round) tries again. Whatever
    failed: a take runs on a task of its own, and a shard whose take died unseen would stay
    claimed (its lease renewed by the keeper) and never trade. Cancelled: the shard was given
    back or lost while it opened (Takeovers.cancel), its lease is gone already."""
    shard, seconds = trader.shard, trader.phases.seconds
    if isinstance(err, asyncio.CancelledError):
        log.info("shard_take_cancelled", shard=shard, phases=seconds)
    else:
        message = err.message if isinstance(err, RampartError) else f"{type(err).__name__}: {err}"
        log.error("shard_take_failed", shard=shard, error=message, phases=seconds)
        if not isinstance(err, StoreError):  # a lease run out, the store away: not the version's
            seen, now = worker.takes.failed_ms, worker.ops_clock.now_ms()
            with contextlib.suppress(StoreError):  # the store away: this one goes uncounted
                record = partial(record_take_failure, worker.db, worker.name, worker.version)
                await asyncio.to_thread(record, seen, now)
    await let_go(worker, trader, claim_ms, token)


async def check_after_take(
    worker: Worker, trader: ShardTrader, max_defer_s: float = MAX_DEFER_S
) -> None:
    """The full pass (verdict included) a take left out, once the shard has made its first
    decision and the worker's other takes under way have traded (they need the CPU more),
    under the shard's lock like a candle, within
    :data:`~rampart.fleet.lease_takes.CHECK_DEADLINE_S`. Nothing if the shard moved on.

    Never before the shard's own first decision: a candle's round takes the shard awaiting
    its first decision first, and its lock held by this pass stalled every shard of the worker
    behind it (the interval pass, which waits for that at most ``max_defer_s``, judges a shard
    that never decides)."""
    shard = trader.shard
    async with worker.progress:  # notified after each candle and each take
        await worker.progress.wait_for(
            lambda: worker.stop.is_set() or shard not in worker.takes.claimed_ms
        )
    await quiet_or_late(worker, max_defer_s)
    if worker.stop.is_set():
        return
    async with worker.locks(shard):
        if worker.traders.get(shard) is not trader or not holds(worker, shard, trader.token):
            return
        try:
            async with asyncio.timeout(CHECK_DEADLINE_S):
                await trader.check()
        except TimeoutError:
            # The interval passes go on: the next one judges the books.
            log.warning("take_check_late", shard=shard, seconds=CHECK_DEADLINE_S)
        except Exception as err:  # a task of its own: what went wrong is logged, not lost
            text = err.message if isinstance(err, RampartError) else f"{type(err).__name__}: {err}"
            log.warning("take_check_failed", shard=shard, error=text)


async def take_shard(worker: Worker, shard: int) -> None:
    """Open ``shard`` and start trading it; given back at once if that fails.

    A worker opens the shards it claimed a few at a time (``takes.opening``,
    :data:`~rampart.fleet.lease_takes.TAKE_CONCURRENCY`), in the order its round started
    them. All at once on a starved machine, the five shards of a frozen worker each take
    15-21 s and none trades before all are open; one at a time, a shard taken with
    three others waits up to 8.4 s for their opens after a kill -9. Each open has a
    deadline (:data:`~rampart.fleet.lease_takes.TAKE_DEADLINE_S`), and once the shard trades
    the full reconciliation its open left out (the verdict) runs on a task of its own
    (:func:`check_after_take`)."""
    leases = present(worker.leases, "the shard leases (the worker is open)")
    started = time.perf_counter()
    phases = Phases()
    claim_ms = worker.takes.claimed_ms.get(shard)
    claimed = leases.leases.get(shard)
    token = claimed.token if claimed is not None else -1  # none: every write is refused
    async with worker.takes.opening:  # cancelled while waiting: nothing opened yet
        phases.lap("queue")
        trader = build_trader(worker, shard, token)
        trader.phases = phases
        phases.lap("build")  # its venue and the accounts' ccxt clients
        try:
            if not holds(worker, shard, token):
                raise StoreError(f"The lease on shard {shard} ran out before it was opened.")
            try:
                async with asyncio.timeout(TAKE_DEADLINE_S):
                    caught_up = await trader.take(worker.recent_candles())
            except TimeoutError as err:
                raise RampartError(
                    f"Shard {shard} did not open within {TAKE_DEADLINE_S:.0f} s."
                ) from err
            if caught_up:
                worker.takes.decided(shard)  # it traded the candles after its checkpoint
        except (Exception, asyncio.CancelledError) as err:
            await failed(worker, trader, claim_ms, token, err)
            if isinstance(err, asyncio.CancelledError):
                raise
            return
    try:
        async with worker.locks(shard):
            phases.lap("lock")
            if not holds(worker, shard, token):
                raise StoreError(f"The lease on shard {shard} ran out while it was opened.")
            # The controls first: a kill switch engaged while it opened holds these candles too.
            controls = await asyncio.to_thread(read_state, worker.db, CONTROLS)
            await apply_controls(trader, controls)
            await apply_stage(worker, trader)
            phases.lap("controls")
            traded = await trader.catch_up(worker.recent_candles())  # the newest, decided now
            if traded:
                worker.traded += traded
                # Logged with how old its candle was: a worker behind the market decides first
                # on a candle from before the fault, which a chaos run does not count.
                newest = max(trader.engine.data_ts.values(), default=None)
                worker.takes.decided(shard, newest)
            phases.lap("first_candles")
            worker.traders[shard] = trader
        # Its accounts' orders by websocket from now; each update is applied only while the
        # lease holds, and the streams stop when the shard is handed back or lost. Under the
        # lock again, after its first decision: opening the websockets took up to a second
        # that the first decisions of the shards taken with it waited for (they poll until).
        async with worker.locks(shard):
            phases.lap("lock")
            if worker.traders.get(shard) is trader and holds(worker, shard, token):
                # The orders' reports go on while the database is away: the stops they grow.
                allowed = partial(covers, worker, shard, token)
                await trader.start_streams(worker.metrics.order_streams, allowed)
            phases.lap("streams")
    except (Exception, asyncio.CancelledError) as err:
        await failed(worker, trader, claim_ms, token, err)
        if isinstance(err, asyncio.CancelledError):
            raise
        return
    if trader.reconciled:
        worker.takes.check(shard, check_after_take(worker, trader))
    worker.metrics.scale.failovers.inc()
    worker.metrics.scale.handover.observe(time.perf_counter() - started)
    log.info("shard_open_phases", shard=shard, seconds=phases.total(), **phases.seconds)
    # A take follows a shard let go somewhere (here or in a crashed worker of this process):
    # cycles only a full collection frees (engine, session, venue); left to the collector,
    # takeovers grew a worker's memory 5 % in 3 h of the soak.
    gc.collect()
    async with worker.progress:
        worker.progress.notify_all()


__all__ = [
    "SHARD_ORDER_RANGE",
    "acting",
    "build_trader",
    "check_after_take",
    "covers",
    "failed",
    "fence",
    "let_go",
    "next_to_trade",
    "stale_traders",
    "take_shard",
    "wrap",
]
