"""``rampart feed``: the configured market data, read once and published on JetStream for
every worker (issue 34).

A simulated feed (synthetic or replay) is paced to ``feed.speed`` as ``rampart run`` paces
it; an exchange's feed (``feed.kind: ccxt``) first publishes the last ``engine.history`` closed
candles of each symbol, then each candle as it closes. A feed started again goes on after the
last candle the stream holds for each symbol: nothing is published twice, and the workers
never see time go backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from rich.console import Console

from rampart.clock import Clock, WallClock
from rampart.config import Settings
from rampart.domain.candles import Candle, timeframe_ms
from rampart.extras import require
from rampart.market.service_feed import feed_of
from rampart.messaging.commands import HEARTBEAT
from rampart.messaging.market import (
    MARKET_STREAM,
    CandlePublisher,
    candle_subject,
    decode_candle,
    market_stream,
)
from rampart.messaging.nats_link import connect
from rampart.runtime.shutdown import StopSignals
from rampart.wiring.venue_kinds import live_feed
from rampart.wiring.venues import make_ccxt_feed

log = structlog.get_logger("rampart.feed")

HEARTBEAT_EVERY_S = 1.0
"""Liveness, on the wall: well inside ``scale.command_stale_s`` (5 s by default)."""


async def last_published(js: Any, symbols: list[str]) -> dict[str, int]:
    """The open time of the newest candle the stream holds, per symbol (absent: none)."""
    errors = require("scale", "nats.js.errors")
    found: dict[str, int] = {}
    for symbol in symbols:
        try:
            msg = await js.get_last_msg(MARKET_STREAM, candle_subject(symbol))
        except errors.NotFoundError:
            continue
        found[symbol] = decode_candle(msg.data).ts
    return found


class FeedPublisher:
    def __init__(
        self,
        settings: Settings,
        console: Console,
        *,
        ops_clock: Clock | None = None,
        install_signals: bool = True,
        max_candles: int | None = None,
        paced: bool = True,
    ) -> None:
        self.settings = settings
        self.console = console
        self.ops_clock = ops_clock or WallClock()
        self.install_signals = install_signals
        self.max_candles = max_candles
        self.paced = paced
        """False: publish as fast as the stream takes them (tests, a backfill)."""
        self.stop = asyncio.Event()
        self.published = 0

    async def run(self) -> int:
        scale = self.settings.scale
        nc = await connect(scale.nats_url, "rampart-feed")
        try:
            js = await market_stream(nc, scale.market_keep, scale.replicas)
            publisher = CandlePublisher(js)
            _stream, _typical, symbols = feed_of(self.settings)
            done = await last_published(js, symbols)
            self.console.print(
                f"Publishing {', '.join(symbols)} on {scale.nats_url} ({MARKET_STREAM})."
            )
            beating = asyncio.create_task(self._heartbeat(nc))
            try:
                if self.install_signals:
                    with StopSignals(self.stop):
                        await self._publish(publisher, done)
                else:
                    await self._publish(publisher, done)
            finally:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating
        finally:
            with contextlib.suppress(Exception):
                await nc.close()
        self.console.print(f"Feed stopped after {self.published:,} candles.")
        return self.published

    async def _heartbeat(self, nc: Any) -> None:
        """The command stream's heartbeat: a worker that hears it knows its link to NATS, on
        which commands come, is alive (``rampart serve`` sends it too)."""
        while True:
            await nc.publish(HEARTBEAT, str(self.ops_clock.now_ms()).encode())
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    async def _publish(self, publisher: CandlePublisher, done: dict[str, int]) -> None:
        async for candle in self._candles():
            if self.stop.is_set():
                break
            if candle.ts <= done.get(candle.symbol, -1):
                continue  # published before this start
            await publisher.publish(candle)
            self.published += 1
            if self.max_candles is not None and self.published >= self.max_candles:
                break

    async def _candles(self) -> AsyncIterator[Candle]:
        if live_feed(self.settings):
            async for candle in self._exchange_candles():
                yield candle
            return
        stream, _typical, _symbols = feed_of(self.settings)
        feed = self.settings.feed
        step_s = timeframe_ms(feed.timeframe) / 1000 / feed.speed if self.paced else 0.0
        last_ts: int | None = None
        candles: Iterator[Candle] = stream()
        for candle in candles:
            if last_ts is not None and candle.ts != last_ts and step_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), step_s)
            if self.stop.is_set():
                return
            last_ts = candle.ts
            yield candle

    async def _exchange_candles(self) -> AsyncIterator[Candle]:
        settings = self.settings
        tf = timeframe_ms(settings.feed.timeframe)
        now = self.ops_clock.now_ms()
        since = (now // tf - settings.engine.history) * tf
        feed = make_ccxt_feed(settings, self.ops_clock, settings.feed.symbols, since_ms=since)
        try:
            history: list[Candle] = []
            for symbol in settings.feed.symbols:
                history.extend(await feed.backfill(symbol))
            for candle in sorted(history, key=lambda c: (c.ts, c.symbol)):
                yield candle
            async for candle in feed.candles():
                yield candle
        finally:
            await feed.close()


__all__ = ["FeedPublisher", "last_published"]
