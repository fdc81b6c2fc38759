"""The candle loop of ``rampart run`` on an exchange's feed (``feed.kind: ccxt``).

Candles come from :class:`~rampart.market.ccxt_feed.CcxtFeed` (polling, or websocket where
the exchange offers it). Before trading, the agents are warmed on the last ``engine.history``
closed candles and a checkpoint, if any, is loaded; then the books are reconciled with the
venue. After that the venue is reconciled again after every reconnect and on an interval.
Business time follows the candles' close times; the feed's staleness runs on its own clock
(the wall clock in production).

A ccxt venue fed by another feed (paper mode on a testnet or the simulator, with synthetic
or replayed candles) is reconciled too, by :class:`ReconcileLoop`, a supervised component of
its own: the rule is that a venue that can be reconciled is, whatever the feed
(:func:`~rampart.trading.reconcile.schedule.reconciled_by`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

from rampart.clock import Clock, SimClock
from rampart.domain.candles import Candle
from rampart.domain.errors import RampartError
from rampart.loops.candle import IDLE_BEAT_S, LoopState
from rampart.loops.session import EngineSession
from rampart.market.ccxt_feed import CcxtFeed
from rampart.market.solana_feed import PriceTick, SolanaFeed
from rampart.observability.metrics import Metrics
from rampart.runtime.supervisor import Beat, sleep_unless_stopped
from rampart.trading.following import follow_orders
from rampart.trading.ports import Updates
from rampart.trading.reconcile.last_pass import StopPass, last_pass
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.trading.reconcile.schedule import (
    RECONCILE_EVERY_S,
    ReconcileSchedule,
    ReconnectWatch,
)

log = structlog.get_logger("rampart.exchange_loop")

START_POLL_S = 0.05
"""How often :class:`ReconcileLoop` looks whether the engine has resumed, until the start run:
short, so that at most about one candle is traded on the checkpoint's books before it."""

Feed = CcxtFeed | SolanaFeed
FeedFactory = Callable[[int], Feed]
"""Opens the exchange's candle feed from a start time (ms): an exchange's candles, or a DEX's
prices (candles and the price ticks between them)."""


async def reconcile_venue(
    session: EngineSession,
    lock: contextlib.AbstractAsyncContextManager[Any],
    reconciler: Reconciler,
    reason: str,
    *,
    verdict: bool = True,
) -> None:
    """One reconciliation of the service's books with its venue, under the service's lock;
    ``verdict=False``: repaired and protected, not judged (:meth:`Reconciler.run`)."""
    if session.engine.capabilities.updates is not Updates.POLLED:
        return  # a venue matched here, on our candles (the paper venue), is its own truth
    async with lock:
        report = await reconciler.run(session.engine, reason=reason, verdict=verdict)
    if report.differences:
        log.warning("books_differ", reason=reason, differences=report.differences[:5])


async def stop_venue(
    session: EngineSession,
    lock: contextlib.AbstractAsyncContextManager[Any],
    reconciler: Reconciler,
) -> StopPass | None:
    """A clean stop's last pass (:mod:`rampart.trading.reconcile.last_pass`), under the
    service's lock: every fill the venue reported booked, every held coin under a stop; what it
    could not do is logged at error in words. None for a venue that is its own truth."""
    if session.engine.capabilities.updates is not Updates.POLLED:
        return None
    try:
        async with lock:
            return await last_pass(session.engine, reconciler)
    except asyncio.CancelledError:  # the drain bound passed first (the lock held by a candle)
        owed = (
            "Stopping with work left: the last pass did not run to its end (cancelled at the "
            "drain bound). The next start books the exchange's trades and covers every coin "
            "before it trades; start it soon."
        )
        session.engine.owed = owed  # in the checkpoint written after
        log.error("stop_last_pass", clean=False, failure="cancelled", text=owed)
        raise


class ExchangeLoop:
    def __init__(
        self,
        session: EngineSession,
        open_feed: FeedFactory,
        *,
        clock: SimClock,
        feed_clock: Clock,
        lock: asyncio.Lock,
        state: LoopState,
        metrics: Metrics,
        symbols: list[str],
        timeframe_ms: int,
        history: int,
        reconnects: ReconnectWatch | None,
        reconcile_every_s: float = RECONCILE_EVERY_S,
    ) -> None:
        self.session = session
        self.open_feed = open_feed
        self.clock = clock
        self.feed_clock = feed_clock
        self.lock = lock
        self.state = state
        self.metrics = metrics
        self.symbols = symbols
        self.timeframe_ms = timeframe_ms
        self.history = history
        self.reconnects = reconnects
        self.reconciler = Reconciler(concurrency=session.settings.venue.reconcile_concurrency)
        self.schedule = ReconcileSchedule(reconcile_every_s)
        self.feed: Feed | None = None
        self.warmed = False

    def _make_feed(self) -> Feed:
        tf = self.timeframe_ms
        now = self.feed_clock.now_ms()
        # First start: reach back far enough to warm the agents; a restarted loop goes on
        # from the last closed candle (what it missed is reconciled, not traded late).
        back = self.history if not self.warmed else 1
        return self.open_feed((now // tf - back) * tf)

    async def _warm(self, feed: Feed) -> None:
        """Feed the agents the recent history (not traded), then restore the checkpoint."""
        history: list[Candle] = []
        for symbol in self.symbols:
            history.extend(await feed.backfill(symbol))
        history.sort(key=lambda c: (c.ts, c.symbol))
        for candle in history:
            self.clock.set(max(self.clock.now_ms(), candle.close_ts))
            for counted in self.session.warm(candle):
                self.session.record_close(counted)
        if self.state.take_resume():
            self.session.finish_resume()
        self.warmed = True
        log.info("warmed", candles=len(history))

    async def reconcile(self, reason: str) -> None:
        await reconcile_venue(self.session, self.lock, self.reconciler, reason)

    async def _next(
        self, stream: AsyncIterator[Candle | PriceTick], stop: asyncio.Event, beat: Beat
    ) -> Candle | PriceTick | None:
        """The next candle (or price tick), or None once the service is asked to stop; beats
        every :data:`IDLE_BEAT_S` while it waits (the loop is turning, not stuck)."""
        getter = asyncio.ensure_future(anext(stream))
        opinions = self.session.opinions
        while True:
            stopper = asyncio.ensure_future(stop.wait())
            waiters = {getter, stopper}
            settled = asyncio.ensure_future(opinions.ready.wait()) if opinions else None
            if settled is not None:
                waiters.add(settled)
            try:
                done, _ = await asyncio.wait(
                    waiters, timeout=IDLE_BEAT_S, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                stopper.cancel()
                if settled is not None:
                    settled.cancel()
            if not done:
                beat()
                continue
            if getter in done:
                return getter.result()
            if settled is None or settled not in done or stop.is_set():
                break
            # A second reading came back: what it released is traded now, and the candle
            # this loop waits for is still awaited (not asked of the stream twice).
            async with self.lock:
                await self.session.settle(record=True)
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await getter
        return None

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        session = self.session
        feed = self.feed = self._make_feed()
        try:
            if not self.warmed:
                await self._warm(feed)
                self.schedule.due(self.clock.now_ms())  # the start run is this one
                await self.reconcile("start")
            stream = feed.candles()
            while not stop.is_set():
                candle = await self._next(stream, stop, beat)
                if candle is None:
                    break
                if isinstance(candle, PriceTick):
                    async with self.lock:
                        await session.on_price(candle.symbol, candle.price, candle.ts)
                    beat()
                    continue
                started = time.perf_counter()
                async with self.lock:
                    self.clock.set(max(self.clock.now_ms(), candle.close_ts))
                    # Each close the guard lets count is saved before its candle is traded,
                    # with the checkpoint it may cause; the feed's clock judges freshness.
                    await session.process(candle, self.feed_clock.now_ms(), record=True)
                self.metrics.signal_latency(time.perf_counter() - started)
                self.state.traded(stop)
                beat()
                reconnected = self.reconnects.take() if self.reconnects is not None else False
                reason = self.schedule.due(self.clock.now_ms(), reconnected)
                if reason is not None:
                    await self.reconcile(reason)
            if stop.is_set() and self.warmed:
                await stop_venue(session, self.lock, self.reconciler)
        finally:
            await feed.close()


class ReconcileLoop:
    """Reconciliation of a ccxt venue whose candles do not come from the exchange loop.

    At start (once the engine has loaded its checkpoint, so the books compared are the ones
    it trades on), after every reconnect, and every ``every_s`` of the ops clock: the venue is
    an exchange (its testnet, or the simulator) that lives in wall time, while a synthetic or
    replayed feed runs business time hundreds of times faster, which would reconcile on every
    poll and spend the exchange's rate limit on nothing.
    """

    def __init__(
        self,
        session: EngineSession,
        *,
        lock: asyncio.Lock,
        state: LoopState,
        ops_clock: Clock,
        reconnects: ReconnectWatch | None,
        poll_s: float,
        reconcile_every_s: float = RECONCILE_EVERY_S,
    ) -> None:
        self.session = session
        self.lock = lock
        self.state = state
        self.ops_clock = ops_clock
        self.reconnects = reconnects
        self.reconciler = Reconciler(concurrency=session.settings.venue.reconcile_concurrency)
        self.schedule = ReconcileSchedule(reconcile_every_s)
        self.poll_s = poll_s
        self.reasons: list[str] = []
        """Why each run so far happened (``start``, ``reconnect``, ``interval``), in order."""

    def ready(self) -> bool:
        """The engine has caught up with its checkpoint (a fresh start has none)."""
        return self.state.index >= self.session.cursor

    async def step(self) -> str | None:
        """Reconcile if it is due; the reason it ran, or None."""
        if not self.ready():
            return None  # a reconnect stays pending until then
        reconnected = self.reconnects.take() if self.reconnects is not None else False
        reason = self.schedule.due(self.ops_clock.now_ms(), reconnected)
        if reason is not None:
            self.reasons.append(reason)
            await reconcile_venue(self.session, self.lock, self.reconciler, reason)
        return reason

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        while not stop.is_set():
            await self.step()
            beat()
            started = self.schedule.next_ms is not None
            await sleep_unless_stopped(
                self.ops_clock, self.poll_s if started else START_POLL_S, stop
            )
        if self.ready() and self.schedule.next_ms is not None:  # the start pass ran
            await stop_venue(self.session, self.lock, self.reconciler)


class FollowLoop:
    """``rampart run``'s orders under way, followed between candles, as a worker's
    shards are (:mod:`rampart.fleet.worker_follow`): every ``every_s`` of the ops clock, under
    the engine's lock, once the engine has caught up with its checkpoint."""

    def __init__(
        self, session: EngineSession, *, lock: asyncio.Lock, state: LoopState, ops_clock: Clock,
        every_s: float,
    ) -> None:  # fmt: skip
        self.session = session
        self.lock = lock
        self.state = state
        self.ops_clock = ops_clock
        self.every_s = every_s
        self.asked = 0
        """Turns that asked the venue (what a test reads)."""

    async def step(self) -> bool:
        if self.state.index < self.session.cursor:
            return False  # the checkpoint's books are not the ones traded yet
        async with self.lock:
            asked = await follow_orders(self.session.engine, self.ops_clock.now_ms())
        self.asked += asked
        return asked

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        while not stop.is_set():
            try:
                await self.step()
            except RampartError as exc:  # the venue away: the next turn, or the candle, asks
                log.warning("follow_failed", error=exc.message)
            beat()
            await sleep_unless_stopped(self.ops_clock, self.every_s, stop)
