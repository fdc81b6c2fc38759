"""The candle loop of ``rampart run`` on an exchange's feed (``feed.kind: ccxt``).

Candles come from :class:`~rampart.market.ccxt_feed.CcxtFeed` (polling, or websocket where
the exchange offers it). Before trading, the agents are warmed on the last ``engine.history``
closed candles and a checkpoint, if any, is loaded; then the books are reconciled with the
venue. After that the venue is reconciled again after every reconnect and on an interval.
Business time follows the candles' close times; the feed's staleness runs on its own clock
(the wall clock in production).
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
from rampart.ops.supervisor import Beat
from rampart.trading.ports import PolledVenue
from rampart.trading.reconcile import Reconciler
from rampart.trading.reconcile_schedule import ReconcileSchedule, ReconnectWatch
from rampart.venue_factory import make_ccxt_feed, stale_marker

if TYPE_CHECKING:
    from rampart.service import Service

log = structlog.get_logger("rampart.exchange_loop")

RECONCILE_EVERY_S = 300.0


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
        session = self.service.session
        assert session is not None
        if not isinstance(session.venue, PolledVenue):
            return  # the paper venue is its own truth
        async with self.service.lock:
            report = await self.reconciler.run(session.engine, reason=reason)
        if not report.matches:
            log.warning("books_differ", reason=reason, differences=report.differences[:5])

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
