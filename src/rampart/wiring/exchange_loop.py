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
(:func:`~rampart.trading.reconcile_schedule.reconciled_by`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import structlog

from rampart.clock import Clock
from rampart.domain.candles import Candle, timeframe_ms
from rampart.market.ccxt_feed import CcxtFeed
from rampart.runtime.supervisor import Beat
from rampart.trading.ports import PolledVenue
from rampart.trading.reconcile import Reconciler
from rampart.trading.reconcile_schedule import ReconcileSchedule, ReconnectWatch, reconciled_by
from rampart.wiring.venues import make_ccxt_feed, stale_marker

if TYPE_CHECKING:
    from rampart.wiring.service import Service

log = structlog.get_logger("rampart.wiring.exchange_loop")

RECONCILE_EVERY_S = 300.0
START_POLL_S = 0.05
"""How often :class:`ReconcileLoop` looks whether the engine has resumed, until the start run:
short, so that at most about one candle is traded on the checkpoint's books before it."""


async def reconcile_venue(service: Service, reconciler: Reconciler, reason: str) -> None:
    """One reconciliation of the service's books with its venue, under the service's lock."""
    session = service.session
    assert session is not None
    if not isinstance(session.venue, PolledVenue):
        return  # the paper venue is its own truth
    async with service.lock:
        report = await reconciler.run(session.engine, reason=reason)
    if not report.matches:
        log.warning("books_differ", reason=reason, differences=report.differences[:5])


class ExchangeLoop:
    def __init__(
        self,
        service: Service,
        feed_clock: Clock,
        reconnects: ReconnectWatch | None,
        reconcile_every_s: float = RECONCILE_EVERY_S,
    ) -> None:
        self.service = service
        self.feed_clock = feed_clock
        self.reconnects = reconnects
        self.reconciler = Reconciler()
        self.schedule = ReconcileSchedule(reconcile_every_s)
        self.feed: CcxtFeed | None = None
        self.warmed = False

    def _make_feed(self) -> CcxtFeed:
        service = self.service
        session = service.session
        assert session is not None
        engine = session.engine
        tf = timeframe_ms(service.settings.feed.timeframe)
        now = self.feed_clock.now_ms()
        # First start: reach back far enough to warm the agents; a restarted loop goes on
        # from the last closed candle (what it missed is reconciled, not traded late).
        back = service.settings.engine.history if not self.warmed else 1
        return make_ccxt_feed(
            service.settings,
            self.feed_clock,
            service.symbols,
            on_stale=stale_marker(engine.stale_symbols),
            on_call=self.reconnects,
            since_ms=(now // tf - back) * tf,
        )

    async def _warm(self, feed: CcxtFeed) -> None:
        """Feed the agents the recent history (not traded), then restore the checkpoint."""
        service = self.service
        session = service.session
        assert session is not None
        history: list[Candle] = []
        for symbol in service.symbols:
            history.extend(await feed.backfill(symbol))
        history.sort(key=lambda c: (c.ts, c.symbol))
        for candle in history:
            service.clock.set(max(service.clock.now_ms(), candle.close_ts))
            session.warm(candle)
        if service.take_cursor():
            session.finish_resume()
        self.warmed = True
        log.info("warmed", candles=len(history))

    async def reconcile(self, reason: str) -> None:
        await reconcile_venue(self.service, self.reconciler, reason)

    async def _next(self, stream: AsyncIterator[Candle]) -> Candle | None:
        """The next candle, or None once the service is asked to stop."""
        stop = self.service.stop
        getter = asyncio.ensure_future(anext(stream))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await getter
        return None

    async def __call__(self, beat: Beat) -> None:
        service = self.service
        session = service.session
        assert session is not None
        feed = self.feed = self._make_feed()
        try:
            if not self.warmed:
                await self._warm(feed)
                self.schedule.due(service.clock.now_ms())  # the start run is this one
                await self.reconcile("start")
            stream = feed.candles()
            while not service.stop.is_set():
                candle = await self._next(stream)
                if candle is None:
                    break
                started = time.perf_counter()
                async with service.lock:
                    service.clock.set(max(service.clock.now_ms(), candle.close_ts))
                    await session.process(candle)
                service.metrics.signal_latency(time.perf_counter() - started)
                service.state.processed += 1
                beat()
                reconnected = self.reconnects.take() if self.reconnects is not None else False
                reason = self.schedule.due(service.clock.now_ms(), reconnected)
                if reason is not None:
                    await self.reconcile(reason)
                service.after_candle()
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
        service: Service,
        reconnects: ReconnectWatch | None,
        reconcile_every_s: float = RECONCILE_EVERY_S,
        poll_s: float | None = None,
    ) -> None:
        self.service = service
        self.reconnects = reconnects
        self.reconciler = Reconciler()
        self.schedule = ReconcileSchedule(reconcile_every_s)
        self.poll_s = service.settings.ops.heartbeat_every_s if poll_s is None else poll_s
        self.reasons: list[str] = []
        """Why each run so far happened (``start``, ``reconnect``, ``interval``), in order."""

    def ready(self) -> bool:
        """The engine has caught up with its checkpoint (a fresh start has none)."""
        session = self.service.session
        return session is not None and self.service.state.index >= session.cursor

    async def step(self) -> str | None:
        """Reconcile if it is due; the reason it ran, or None."""
        if not self.ready():
            return None  # a reconnect stays pending until then
        reconnected = self.reconnects.take() if self.reconnects is not None else False
        reason = self.schedule.due(self.service.ops_clock.now_ms(), reconnected)
        if reason is not None:
            self.reasons.append(reason)
            await reconcile_venue(self.service, self.reconciler, reason)
        return reason

    async def __call__(self, beat: Beat) -> None:
        stop = self.service.stop
        while not stop.is_set():
            await self.step()
            beat()
            started = self.schedule.next_ms is not None
            pause = self.poll_s if started else START_POLL_S
            sleeper = asyncio.ensure_future(self.service.ops_clock.sleep(pause))
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in (sleeper, stopper):
                    waiting.cancel()


def reconcile_loop(service: Service) -> ReconcileLoop | None:
    """The reconciliation component the service needs besides its candle loop, if any."""
    settings = service.settings
    if reconciled_by(settings.venue.kind, settings.feed.kind) != "reconcile loop":
        return None
    return ReconcileLoop(service, service.reconnects)
