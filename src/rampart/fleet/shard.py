"""One shard as a worker trades it: its accounts' session, taken over and handed back whole.

A shard's accounts have an engine, a venue and a store writer of their own, and a checkpoint
of their own (``shard-<n>``): what moves from one worker to another is that checkpoint, so a
shard can be traded by any worker of any version that reads it.

**Taking a shard** (:meth:`ShardTrader.take`): the accounts of the shard (the configured ones
and those an operator or an investor started, found in the store) are added, the checkpoint is
loaded, the agents are warmed on the candles the worker holds, and then:

- on a venue that matches on our candles (paper), the candles after the checkpoint are traded
  in order (the previous owner had traded them, or would have; the venue is the checkpoint's);
- on a venue whose truth is elsewhere (an exchange, a chain), they only warm the agents and
  the books are reconciled with the venue before the first candle: what the previous owner
  sent after its last checkpoint is found there, booked as it happened, and protected. Each
  symbol's newest candle is not warmed: it is the shard's first decision, made by the take
  itself (:meth:`ShardTrader.catch_up`) and not by the worker's next candle round.

That pass before the first candle (:data:`~rampart.trading.reconcile.context.TAKEOVER`) does
what a new order's safety needs and no more: client ids moved past every id the
venue has seen, the orders followed brought up to date, the open orders and the orders sent
after the checkpoint adopted with their fills, the positions explained from the balances and
each one protected by its stop. The verdict (open orders and balances read a second time, and
the trade history compared with the books by trade id) repairs nothing, and on a CPU-starved
machine it was a large part of a take's pass: it follows once the shard trades, as a full pass
of its own (:meth:`ShardTrader.check`, :data:`AFTER_TAKE`, run by the worker with a deadline).

**Handing a shard back** (:meth:`ShardTrader.hand_back`, a rebalance or a deploy step): a
checkpoint under the lease, then the lease is released; a checkpoint the store refuses keeps
the shard where it is. **Losing it** (:meth:`drop`, another
worker took it): nothing is written (the fence would refuse it anyway), and what was not saved
is dropped, as a checkpoint the fence refused drops its rows: the new holder rebuilds it from
the venue, and rows it derives again that the old holder had saved (fills, closed trades) are
written by their natural keys, so they land once (:mod:`rampart.store.upserts`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from rampart.domain.candles import Candle
from rampart.domain.shards import shard_of
from rampart.fleet.order_streams import start_order_streams, stop_order_streams
from rampart.fleet.take_phases import Phases
from rampart.loops.exchange import reconcile_venue
from rampart.loops.session import EngineSession
from rampart.operator.control import restore_operator_accounts
from rampart.operator.investors import restore_investor_accounts
from rampart.trading.following import follow_orders
from rampart.trading.ports import Updates
from rampart.trading.reconcile.context import TAKEOVER
from rampart.trading.reconcile.last_pass import StopPass, last_pass
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.venues.ccxt_orders import under_way

if TYPE_CHECKING:
    from rampart.observability.stream_metrics import OrderStreamMetrics

log = structlog.get_logger("rampart.worker.shard")


AFTER_TAKE = "after_take"
"""The reason of the full pass that follows a take once the shard trades."""


def checkpoint_name(shard: int) -> str:
    return f"shard-{shard}"


class ShardTrader:
    passing = False
    """A reconciliation pass holds its lock (seconds to tens of seconds on a starved machine):
    the worker's candle round passes it by instead of waiting, which would hold every other
    shard's candle behind it and put the worker 15-25 s behind the market under 4x CPU.
    It decides on the next candle it is free for, the ones it missed warmed first (:meth:`trade`).
    """

    def __init__(
        self, shard: int, shards: int, session: EngineSession, *, reconcile_concurrency: int
    ) -> None:
        self.shard = shard
        self.shards = shards
        self.session = session
        """The shard's accounts (``shard_of``), on a checkpoint of their own
        (:func:`checkpoint_name`): built by the root (``WorkerParts.trader``)."""
        self.reconciler = Reconciler(concurrency=reconcile_concurrency)
        self.trading = False
        """Restored: checkpoint loaded, books reconciled; candles are traded from now."""
        self._checked = False
        """The pass after its take is done and no interval pass has come since."""
        self._streams: OrderStreamMetrics | None = None
        self._allowed: Callable[[], bool] | None = None
        self.phases = Phases()
        self.token = -1
        """The lease token it was opened under (set by the worker's take): a trader of an
        older token than the lease held is stale (lease_open.stale_traders)."""
        """Seconds each part of its take took (``shard_open_phases``: what a slow take spent)."""

    def owns(self, account_id: str) -> bool:
        return shard_of(account_id, self.shards) == self.shard

    @property
    def engine(self) -> Any:
        return self.session.engine

    @property
    def reconciled(self) -> bool:
        """Its venue's truth is elsewhere, so it is reconciled (an exchange, a chain)."""
        return self.engine.capabilities.updates is Updates.POLLED

    async def take(self, recent: Iterable[Candle]) -> int:
        """Open the shard (see the module's docstring); returns the candles traded to catch up.
        The caller holds the worker's lock: no candle is traded meanwhile."""
        started = time.perf_counter()
        phases = self.phases
        session = self.session
        await session.open()
        # Two holders may cover the same coins (one cut off from the database): the pairs'
        # client ids come from the position, so the exchange refuses the second copy.
        self.engine.executor.protection.derived_ids = True
        phases.lap("open")
        await restore_operator_accounts(session, only=self.owns)
        await restore_investor_accounts(session, only=self.owns)
        phases.lap("restore")
        saved = session.checkpoint_seen
        seen = saved or {}
        fresh = saved is None
        later: list[Candle] = []
        ordered = sorted(recent, key=lambda c: (c.close_ts, c.symbol))
        # On a venue whose truth is elsewhere each symbol's newest unseen candle is left for the
        # first decision (catch_up, once reconciled): warmed here it counted as seen, and the
        # shard waited for the worker's next candle round, behind its other shards' rounds
        # (4.6 s after a kill -9 in the overload bench, 14-15 s after a SIGSTOP).
        undecided = {
            c.symbol: c for c in ordered if fresh or c.close_ts > seen.get(c.symbol, 0)
        } if self.reconciled else {}  # fmt: skip
        for candle in ordered:
            if undecided.get(candle.symbol) is candle:
                continue
            if fresh or candle.close_ts <= seen.get(candle.symbol, 0):
                session.warm(candle)
            else:
                later.append(candle)
        session.finish_resume()
        phases.lap("warm")
        traded = 0
        if self.reconciled:
            for candle in later:
                session.warm(candle)  # sent or not, the venue says: reconciled next
            # A takeover is a start for the shard: orders the previous owner sent after its last
            # checkpoint are adopted whatever their age, and new ids are moved past theirs and
            # past any it may still have on its way.
            await reconcile_venue(
                session, contextlib.nullcontext(), self.reconciler, TAKEOVER, verdict=False
            )
            phases.lap("reconcile")
        else:
            for candle in later:
                await session.process(candle)
                traded += 1
            phases.lap("catch_up")
        self.trading = True
        log.info(
            "shard_taken",
            shard=self.shard,
            accounts=len(self.engine.accounts),
            resumed=not fresh,
            caught_up=traded,
            seconds=round(time.perf_counter() - started, 3),
        )
        return traded

    async def catch_up(self, candles: Iterable[Candle]) -> int:
        """Trade the candles that came while the shard opened and the newest that
        :meth:`take` left undecided (it skips what it has seen); the candles traded. On a
        venue whose truth is elsewhere only each symbol's newest is traded, the earlier ones
        warm the agents: deciding on a candle seconds old sends orders at a price gone by, and
        each such candle takes the worker's lock for up to a second on a starved machine while
        the shard's accounts (and the worker's other shards) wait for a decision on the
        current one. On the paper venue, which matches on our candles, every one is
        traded, in order."""
        fresh = [
            c
            for c in sorted(candles, key=lambda c: (c.close_ts, c.symbol))
            if self.trading and c.close_ts > self.engine.data_ts.get(c.symbol, 0)
        ]
        if self.reconciled:
            newest = {c.symbol: c for c in fresh}
            for candle in fresh:
                if newest[candle.symbol] is not candle:
                    self.session.warm(candle)
            fresh = sorted(newest.values(), key=lambda c: (c.close_ts, c.symbol))
        traded = 0
        for candle in fresh:
            if await self.trade(candle):
                traded += 1
        return traded

    def skip(self, candle: Candle) -> bool:
        """On a venue whose truth is elsewhere, warm the agents on ``candle`` without deciding
        on it (True), when the worker has a newer candle of every symbol waiting behind it. A
        worker that falls behind the market (its shards' candles take longer than a candle to
        trade on a starved machine) would decide on candles 20 s old, one after another, while
        the orders they send meet the price of now, and a shard it takes over would decide on
        the fault's past until the backlog is through. Warming is indicators only: the backlog
        drains in milliseconds and the newest candle is traded. The paper venue, which matches
        on our candles, trades every one (False)."""
        if not self.reconciled or not self.trading:
            return False
        if candle.close_ts <= self.engine.data_ts.get(candle.symbol, 0):
            return True  # seen already: nothing to warm or trade
        self.session.warm(candle)
        return True

    async def trade(self, candle: Candle, recent: Sequence[Candle] = ()) -> bool:
        """Trade ``candle`` unless this shard has seen it already (a feed restarted, or history
        the worker received before taking the shard). ``recent``: the worker's last candles of
        its symbol, oldest first; on a venue whose truth is elsewhere the ones it has not seen
        before ``candle`` warm the agents first (the round passed it by while its
        reconciliation held it, :attr:`passing`)."""
        seen = self.engine.data_ts.get(candle.symbol, 0)
        if not self.trading or candle.close_ts <= seen:
            return False
        if self.reconciled:
            missed = []
            for earlier in reversed(recent):  # newest first: most rounds stop at the second
                if earlier.close_ts <= seen:
                    break
                if earlier.close_ts < candle.close_ts:
                    missed.append(earlier)
            for earlier in reversed(missed):
                self.session.warm(earlier)
        await self.session.process(candle)
        return True

    def protect_only(self) -> None:
        """The database does not answer the lease's renewals: no new position is opened (the
        store-down gate, refused in words), while the stops of the coins held go on; the gate
        lifts at the first write the store takes again."""
        if not self.engine.store_down:
            self.session.store_unreachable(
                "this worker's shard lease cannot be renewed (the database does not answer)"
            )

    def working(self) -> bool:
        """Its venue has an order under way (see :meth:`follow`)."""
        tracked = getattr(self.session.venue, "tracked", None)
        return self.trading and tracked is not None and any(map(under_way, tracked()))

    async def follow(self, now_ms: int | None = None) -> bool:
        """Between candles: book what the exchange did to the orders under way, and grow their
        stops (:mod:`rampart.trading.following`, ``now_ms`` the ops clock's); the caller holds
        the shard's lock."""
        return self.trading and await follow_orders(self.engine, now_ms)

    async def check(self) -> None:
        """The full pass a take left for after its first candle (the verdict included); the
        caller holds the shard's lock. It stands for the shard's next interval pass
        (:meth:`interval_due`): a worker that just took several shards is the one with the
        least CPU to spare, and two full passes in a row judge nothing more than one."""
        await self.reconcile(AFTER_TAKE)
        self._checked = True

    def interval_due(self) -> bool:
        """Whether the worker's interval pass reconciles the shard this time: not the first
        time after the pass that followed its take."""
        due, self._checked = not self._checked, False
        return due

    async def reconcile(self, reason: str) -> None:
        if self.trading and self.reconciled:
            self.passing = True
            try:
                await reconcile_venue(
                    self.session, contextlib.nullcontext(), self.reconciler, reason
                )
            finally:
                self.passing = False

    async def last_pass(self, within_s: float) -> StopPass | None:
        """A clean stop's last pass (:mod:`rampart.trading.reconcile.last_pass`) before the
        shard is handed back: every fill its exchange reported booked by trade id, every held
        coin under a stop; what it could not do within ``within_s`` is logged at error in words
        and left to the next holder's take pass, which books and covers before it trades. None
        when the shard is not trading or its venue is its own truth; the caller holds the
        shard's lock."""
        if not (self.trading and self.reconciled):
            return None
        self.passing = True
        try:
            done = await last_pass(self.engine, self.reconciler, within_s=within_s)
        finally:
            self.passing = False
        if not done.clean:
            log.error("shard_stopped_with_work_left", shard=self.shard, text=done.text)
        return done

    async def start_streams(self, metrics: OrderStreamMetrics, allowed: Callable[[], bool]) -> bool:
        """Open the venue's order streams (an exchange's): they apply nothing once
        ``allowed()`` (the lease) is false, and stop when the shard is handed back or lost."""
        self._streams, self._allowed = metrics, allowed
        key = checkpoint_name(self.shard)
        return await start_order_streams(self.session.venue, metrics, key, allowed)

    async def _stop_streams(self) -> None:
        if self._streams is not None:
            await stop_order_streams(self.session.venue, self._streams, checkpoint_name(self.shard))

    async def hand_back(self, still_mine: Callable[[], bool]) -> bool:
        """Write the checkpoint and stop; the caller releases the lease after. When the store
        refuses the checkpoint while the shard is still this worker's, it is kept and goes on
        trading (False): handing it over would make its next owner resume from an older
        checkpoint. Refused because another worker took it meanwhile: dropped (True)."""
        self.trading = False
        # The streams first: nothing learnt after this point may move the venue's state past
        # the checkpoint's books (the next holder reconciles what happens from here).
        await self._stop_streams()
        if not await self.session.checkpoint_off_loop() and still_mine():
            self.trading = True
            log.warning("shard_kept", shard=self.shard, why="its checkpoint was not saved")
            if self._streams is not None and self._allowed is not None:
                await self.start_streams(self._streams, self._allowed)
            return False
        await self._close()
        log.info("shard_handed_back", shard=self.shard)
        return True

    async def drop(self) -> None:
        """Another worker holds the shard: stop at once and write nothing."""
        self.trading = False
        await self._close()
        log.warning("shard_lost", shard=self.shard)

    async def _close(self) -> None:
        await self._stop_streams()  # before anything is let go: a late update applies nowhere
        self.session.discard()
        closer = getattr(self.session.venue, "aclose", None)  # an exchange's HTTP clients
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()


__all__ = ["AFTER_TAKE", "ShardTrader", "checkpoint_name"]
