"""``rampart feed``: the configured market data, read once and published on JetStream for
every worker, through NATS outages and as a leader/standby pair.

A simulated feed (synthetic or replay) is paced to ``feed.speed`` as ``rampart run`` paces
it; an exchange's feed (``feed.kind: ccxt``) first publishes the last ``engine.history`` closed
candles of each symbol, then each candle as it closes.

Nothing NATS does stops the process. The client reconnects by itself; a publish that is not
acknowledged is sent again (each candle carries its message id ``<symbol>|<ts>``, so the stream
drops a second copy); past a few failures, or when NATS does not answer at all, the feed drops
the connection and connects again with a growing pause (capped at :data:`RETRY_CAP_S`),
forever. Each time it starts publishing, after a start, a reconnect or a takeover, it reads
the newest candle the stream holds per symbol and goes on from the one after it, back-filling
what was missed from its source: no gap, no duplicate, and the workers never see time go back.

Two or more feeds may run: only the holder of the leader lease publishes
(:mod:`rampart.messaging.feed_lease`); the others renew their claim and take over when the
lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from rich.console import Console

from rampart.clock import Clock, WallClock
from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import ConfigError
from rampart.extras import require
from rampart.fleet.feed_watch import FeedWatch
from rampart.fleet.parts import FeedParts
from rampart.fleet.settings import FleetSettings
from rampart.fleet.tracing_hooks import publish_traced
from rampart.market.service_feed import feed_of
from rampart.messaging.commands import HEARTBEAT
from rampart.messaging.feed_lease import FeedLease, lease_stream
from rampart.messaging.market import (
    MARKET_STREAM,
    CandlePublisher,
    candle_subject,
    decode_candle,
    market_stream,
)
from rampart.messaging.nats_link import NatsUnavailable, connect
from rampart.runtime.backoff import full_jitter_s
from rampart.runtime.shutdown import STOP_DEADLINE_S, StopSignals

log = structlog.get_logger("rampart.feed")

HEARTBEAT_EVERY_S = 1.0
"""Liveness, on the wall: well inside ``scale.command_stale_s`` (5 s by default)."""
SEND_TRIES = 5
"""Sends of one candle on one connection before the feed connects again from scratch."""
RETRY_BASE_S = 0.25
RETRY_CAP_S = 5.0
STOP_GRACE_S = 5.0
"""How long a stopped feed lets its session end by itself (hand the lease back, close the
connection) before it is cancelled: an exchange's next candle or a connection still being made
must not hold a SIGTERM up."""
"""The longest pause between two attempts: a NATS back after an outage is used within it."""


def nats_trouble() -> tuple[type[BaseException], ...]:
    """What NATS raises when it is unreachable, restarting or not ready: retried, never fatal.
    A refusal in words (a stream of the wrong kind: :class:`ConfigError`) is not among them."""
    nats_errors = require("scale", "nats.errors")
    js_errors = require("scale", "nats.js.errors")
    # Not OSError: nats-py handles its sockets' errors itself, and a missing replay file must
    # stop the feed with its own sentence, not be retried forever.
    return (TimeoutError, NatsUnavailable, nats_errors.Error, js_errors.Error)


def stream_missing() -> tuple[type[BaseException], ...]:
    """What a publish raises when NATS answers but no stream takes the subject (a nats-server
    that lost its store): the market stream is created again. An outage (a timeout, a closed
    connection) raises other errors, and the send is retried, then the session reconnects."""
    nats_errors = require("scale", "nats.errors")
    js_errors = require("scale", "nats.js.errors")
    return (nats_errors.NoRespondersError, js_errors.NoStreamResponseError, js_errors.NotFoundError)


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


def default_feed_name() -> str:
    """Host name and process id: unique among the feeds of a fleet."""
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"feed-{host[:40]}-{os.getpid()}"


class LostLead(Exception):
    """This feed's leader lease ran out or was taken: it publishes no more until it holds it."""


class FeedPublisher:
    def __init__(
        self,
        settings: FleetSettings,
        console: Console,
        parts: FeedParts,
        *,
        ops_clock: Clock | None = None,
        install_signals: bool = True,
        max_candles: int | None = None,
        paced: bool = True,
        name: str = "feed",
    ) -> None:
        self.settings = settings
        self.console = console
        self.parts = parts
        """What the root built for the configured feed (the exchange's candles)."""
        self.ops_clock = ops_clock or WallClock()
        self.install_signals = install_signals
        self.max_candles = max_candles
        self.paced = paced
        """False: publish as fast as the stream takes them (tests, a backfill)."""
        self.name = name
        """This feed's name in the leader lease (unique among the feeds)."""
        self.stop = asyncio.Event()
        self.published = 0
        self.reconnects = 0
        """Connections dropped and made again after NATS trouble."""
        self.lease_losses = 0
        """Times this feed stopped publishing because its lease ran out or was taken."""
        self.lease: FeedLease | None = None
        self.nc: Any = None
        self.leading = asyncio.Event()
        """Set while this feed holds the leader lease (what a test or a caller waits on)."""
        self.watch = FeedWatch(self)
        self._rng = random.Random()  # noqa: S311 - spreading retries, not secrecy
        self._connected = False
        """The current session got as far as its streams (a later failure is a new outage)."""

    async def run(self) -> int:
        self.watch.open(self.settings.scale)
        try:
            if self.install_signals:
                with StopSignals(self.stop, deadline_s=STOP_DEADLINE_S):
                    await self._serve_until_stopped()
            else:
                await self._serve_until_stopped()
        finally:
            self.watch.close()
        self.console.print(f"Feed stopped after {self.published:,} candles.")
        return self.published

    async def _serve_until_stopped(self) -> None:
        serving = asyncio.create_task(self._serve(), name="feed")
        stopped = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not serving.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(serving), STOP_GRACE_S)
        finally:
            stopped.cancel()
            if not serving.done():
                serving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await serving
        if not serving.cancelled():
            serving.result()  # a bad configuration still ends the feed with its sentence

    async def _serve(self) -> None:
        """Sessions until stopped or done; NATS trouble ends a session, never the feed."""
        trouble = nats_trouble()
        failures = 0
        while not self.stop.is_set():
            self._connected = False
            try:
                if await self._session():
                    return
            except ConfigError:
                raise
            except trouble as err:
                self.reconnects += 1
                if self._connected:
                    failures = 0  # the last session worked: this is a new outage
                pause = full_jitter_s(self._rng, failures, RETRY_BASE_S * 4, RETRY_CAP_S)
                failures += 1
                log.warning(
                    "feed_reconnecting",
                    feed=self.name,
                    error=f"{type(err).__name__}: {err}",
                    pause_s=round(pause, 2),
                )
                self.console.print(
                    f"NATS trouble ({type(err).__name__}); connecting again in {pause:.1f} s."
                )
                await self._pause(pause)

    async def _session(self) -> bool:
        """One connection: lead or stand by, publish while leading. True when done (stopped,
        ``max_candles`` reached or the source ran out)."""
        scale = self.settings.scale
        self.nc = nc = await connect(scale.nats_url, f"rampart-feed-{self.name}")
        tasks: list[asyncio.Task[None]] = []
        try:
            js = await market_stream(nc, scale.market_keep, scale.replicas)
            lease = self.lease = FeedLease(
                await lease_stream(nc, scale.replicas),
                self.name,
                self.ops_clock,
                int(scale.feed_lease_s * 1000),
            )
            publisher = CandlePublisher(js)
            self._connected = True
            _stream, _typical, symbols = feed_of(self.settings)
            self.console.print(
                f"Feed {self.name}: connected to {scale.nats_url}; publishes "
                f"{', '.join(symbols)} on {MARKET_STREAM} while it holds the leader lease."
            )
            tasks = [
                asyncio.create_task(self._heartbeat(nc), name="heartbeat"),
                asyncio.create_task(self._hold(lease), name="lease"),
            ]
            while not self.stop.is_set():
                await self._wait_leading(lease)
                if self.stop.is_set():
                    break
                done = await last_published(js, symbols)
                self.console.print(
                    f"Feed {self.name}: leading (lease token {lease.token}); publishing from "
                    "the stream's newest candle on."
                )
                try:
                    return await self._publish(publisher, done, lease)
                except LostLead:
                    self.lease_losses += 1
                    log.warning("feed_standing_by", feed=self.name)
                    self.console.print(f"Feed {self.name}: lost the leader lease; standing by.")
            return True
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._let_go(nc)

    async def _let_go(self, nc: Any) -> None:
        """Hand the lease back (a standby need not wait it out) and close the connection."""
        lease, self.lease = self.lease, None
        self.leading.clear()
        if lease is not None and nc.is_connected:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(lease.release(), RETRY_CAP_S)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), RETRY_CAP_S)

    async def _hold(self, lease: FeedLease) -> None:
        """Claim or renew the lease every ``scale.renew_every_s``, on its own schedule (never
        behind a publish). A failed attempt is retried at the next tick."""
        trouble = nats_trouble()
        every = self.settings.scale.renew_every_s
        while True:
            try:
                await asyncio.wait_for(lease.hold(), every * 2)
            except trouble as err:
                log.info("feed_lease_unreachable", feed=self.name, error=type(err).__name__)
                # A nats-server that lost its store lost the lease's stream too: nobody could
                # ever lead again (every feed standing by, no candle published). Created again
                # here (nothing is changed when it exists), the next round takes the lease.
                with contextlib.suppress(*trouble):
                    replicas = self.settings.scale.replicas
                    lease.js = await asyncio.wait_for(lease_stream(self.nc, replicas), every * 2)
            except Exception as err:  # the lease loop must outlive any one bad round
                log.warning("feed_lease_failed", feed=self.name, error=f"{type(err).__name__}")
            if lease.valid():
                self.leading.set()
            else:
                self.leading.clear()
            await asyncio.sleep(every)  # liveness, on the wall

    async def _wait_leading(self, lease: FeedLease) -> None:
        """Until this feed holds a valid lease (or is stopped)."""
        while not self.stop.is_set() and not lease.valid():
            self.leading.clear()  # set by the holder once it holds the lease again
            stopper = asyncio.ensure_future(self.stop.wait())
            leader = asyncio.ensure_future(self.leading.wait())
            try:
                await asyncio.wait({stopper, leader}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                leader.cancel()

    async def _heartbeat(self, nc: Any) -> None:
        """The command stream's heartbeat: a worker that hears it knows its link to NATS, on
        which commands come, is alive (``rampart serve`` sends it too)."""
        trouble = nats_trouble()
        while True:
            with contextlib.suppress(*trouble):  # the client's own buffer fills when it is down
                await nc.publish(HEARTBEAT, str(self.ops_clock.now_ms()).encode())
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    async def _publish(
        self, publisher: CandlePublisher, done: dict[str, int], lease: FeedLease
    ) -> bool:
        """From the candle after ``done`` on, while the lease holds (:class:`LostLead`
        otherwise). True when finished."""
        async for candle in self._candles(done):
            if self.stop.is_set():
                return True
            await self._send(publisher, candle, lease)
            if self.max_candles is not None and self.published >= self.max_candles:
                return True
        return True

    async def _send(self, publisher: CandlePublisher, candle: Candle, lease: FeedLease) -> None:
        """One candle, sent again until the stream acknowledges it; the lease is checked
        before every send, so a leader that froze and woke past its lease sends nothing."""
        trouble = nats_trouble()
        for attempt in range(SEND_TRIES):
            if not lease.valid():
                raise LostLead
            try:
                before = publisher.published
                await publish_traced(publisher, candle)
                grown = publisher.published - before
                self.published += grown
                self.watch.published.inc(grown)
                return
            except trouble as err:
                if attempt == SEND_TRIES - 1:
                    raise
                log.info("feed_publish_retry", feed=self.name, error=type(err).__name__)
                if isinstance(err, stream_missing()):  # not an outage: the stream is gone
                    await self._ensure_market(publisher)
                await self._pause(full_jitter_s(self._rng, attempt, RETRY_BASE_S, RETRY_CAP_S))

    async def _ensure_market(self, publisher: CandlePublisher) -> None:
        """The market stream created again if a nats-server that lost its store lost it (the
        next send lands in it); nothing changes when it exists or NATS is away."""
        scale = self.settings.scale
        with contextlib.suppress(*nats_trouble()):
            publisher.js = await asyncio.wait_for(
                market_stream(self.nc, scale.market_keep, scale.replicas), RETRY_CAP_S
            )

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    async def _candles(self, done: dict[str, int]) -> AsyncIterator[Candle]:
        """The source's candles after ``done`` (the newest the stream holds per symbol)."""
        if self.parts.live_feed:
            async for candle in self._exchange_candles(done):
                yield candle
            return
        stream, _typical, _symbols = feed_of(self.settings)
        feed = self.settings.feed
        step_s = timeframe_ms(feed.timeframe) / 1000 / feed.speed if self.paced else 0.0
        last_ts: int | None = None
        candles: Iterator[Candle] = stream()
        for candle in candles:
            if candle.ts <= done.get(candle.symbol, -1):
                continue  # on the stream already: skipped without waiting
            # The first candle after a (re)start goes at once: it fills the gap.
            if last_ts is not None and candle.ts != last_ts and step_s > 0:
                await self._pause(step_s)
            if self.stop.is_set():
                return
            last_ts = candle.ts
            yield candle

    async def _exchange_candles(self, done: dict[str, int]) -> AsyncIterator[Candle]:
        settings = self.settings
        tf = timeframe_ms(settings.feed.timeframe)
        now = self.ops_clock.now_ms()
        since = (now // tf - settings.engine.history) * tf
        if done:  # back-fill from the stream's newest candle when it is older than that
            since = min(since, min(done.values()) + tf)
        feed = self.parts.exchange_feed(self.ops_clock, settings.feed.symbols, since)
        try:
            history: list[Candle] = []
            for symbol in settings.feed.symbols:
                history.extend(await feed.backfill(symbol))
            for candle in sorted(history, key=lambda c: (c.ts, c.symbol)):
                if candle.ts > done.get(candle.symbol, -1):
                    yield candle
            async for candle in feed.candles():
                if candle.ts > done.get(candle.symbol, -1):
                    yield candle
        finally:
            await feed.close()


__all__ = ["FeedPublisher", "LostLead", "default_feed_name", "last_published", "nats_trouble"]
