"""Market data once, for every worker: candles on JetStream.

``rampart feed`` reads the configured feed once and publishes each candle on
``rampart.md.candle.<BASE_QUOTE>`` in the stream ``RAMPART_MARKET``; every worker reads the
whole stream on an ordered consumer of its own. The stream keeps the last
``scale.market_keep`` candles of each symbol (``max_msgs_per_subject``), so a worker that
starts, or takes a shard over, first receives that history (it warms the agents, and what the
shard's checkpoint has already seen is not traded again) and then the live candles.

A candle is published with the message id ``<symbol>|<ts>``: a feed restarted over the same
minutes publishes nothing twice (JetStream drops a repeated id within its duplicate window),
and a worker skips a candle not newer than the last it traded for that symbol anyway.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from rampart.domain.candles import Candle
from rampart.domain.errors import RampartError
from rampart.extras import require
from rampart.messaging.nats_link import ensure_stream

log = structlog.get_logger("rampart.messaging.market")

MARKET_STREAM = "RAMPART_MARKET"
CANDLES = "rampart.md.candle."
MARKET_SUBJECTS = "rampart.md.>"
DUPLICATE_WINDOW_S = 600.0


class BadCandle(RampartError):
    """A message on the market stream that is not a candle."""


def candle_subject(symbol: str) -> str:
    """``BTC/USDT`` → ``rampart.md.candle.BTC_USDT`` (a subject token holds no ``.``, ``/``,
    ``*``, ``>`` or space)."""
    token = "".join(c if c.isalnum() or c in "-_" else "_" for c in symbol)
    return CANDLES + token


def encode_candle(candle: Candle) -> bytes:
    return json.dumps(
        [
            candle.symbol,
            candle.ts,
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.volume,
            candle.timeframe_ms,
        ]
    ).encode()


def decode_candle(data: bytes) -> Candle:
    try:
        symbol, ts, o, h, low, c, v, tf = json.loads(data)
        candle = Candle(
            str(symbol), int(ts), float(o), float(h), float(low), float(c), float(v), int(tf)
        )
    except (ValueError, TypeError) as err:
        raise BadCandle(f"Not a candle ({type(err).__name__}): {data[:80]!r}.") from err
    if "/" not in candle.symbol or candle.timeframe_ms <= 0 or not candle.low <= candle.high:
        raise BadCandle(f"Not a candle: {data[:80]!r}.")
    return candle


async def market_stream(nc: Any, keep: int, replicas: int = 1) -> Any:
    """The JetStream context, with the market stream created if it does not exist."""
    return await ensure_stream(
        nc,
        MARKET_STREAM,
        [MARKET_SUBJECTS],
        max_msgs_per_subject=keep,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_S,
    )


PUBLISH_TIMEOUT_S = 2.0
"""One publish's wait for JetStream's acknowledgement; past it the feed sends it again (the
message id makes a second copy harmless)."""


def message_id(candle: Candle) -> str:
    """A candle's JetStream message id: a re-send within the duplicate window is dropped."""
    return f"{candle.symbol}|{candle.ts}"


class CandlePublisher:
    """The feed's end."""

    def __init__(self, js: Any) -> None:
        self.js = js
        self.published = 0
        self.duplicates = 0
        """Sends the stream dropped as a candle it already held (a retry, or a second feed)."""

    async def publish(self, candle: Candle, headers: dict[str, str] | None = None) -> None:
        """Send ``candle`` once and wait for the stream's acknowledgement; NATS errors
        (a timeout while the client reconnects) propagate for the caller to retry.
        ``headers``: more to carry (a trace's ``traceparent``)."""
        sent = {"Nats-Msg-Id": message_id(candle)}
        if headers:
            sent.update(headers)
        ack = await self.js.publish(
            candle_subject(candle.symbol),
            encode_candle(candle),
            timeout=PUBLISH_TIMEOUT_S,
            stream=MARKET_STREAM,
            headers=sent,
        )
        if getattr(ack, "duplicate", False):
            self.duplicates += 1
        else:
            self.published += 1


CHECK_EVERY_S = 5.0
"""A market stream quiet this long is looked at: deleted or re-created under the worker (a
nats-server that lost its store), it is subscribed to again from its start."""
CHECK_TIMEOUT_S = 2.0

OnCandle = Callable[[Candle, int], Awaitable[None]]
"""What a worker does with each candle, given how many more the stream holds behind it (the
consumer's lag)."""


class CandleSubscription:
    """A worker's end: every candle the stream keeps, then the live ones, in order, handed to
    ``on_candle`` one at a time (the next is not handed over before the last returned)."""

    def __init__(
        self,
        js: Any,
        on_candle: OnCandle,
        recreate: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.js = js
        self.on_candle = on_candle
        self.recreate = recreate
        """Creates the market stream again when it is gone (its JetStream context)."""
        self.stream_created: object = None
        """When the stream subscribed to was created (what tells a re-created one apart)."""
        self.resubscribed = 0
        """Times the stream was found lost or re-created and subscribed to again."""
        self.refused = 0
        """Messages on the stream that were not candles (dropped, counted)."""
        self.lag = 0
        """Candles on the stream not yet handed over, as of the last one handed over."""
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._undelivered = 0
        """What the server still held behind the newest message it delivered."""
        self._sub: Any = None
        self.arrived: Callable[[], None] | None = None
        """Told of every message that reaches this worker (how overdue the next candle is)."""
        self.headers: dict[str, str] | None = None
        """The headers of the candle being handed over (its trace's ``traceparent``)."""

    async def start(self) -> None:
        api = require("scale", "nats.js.api")

        async def received(msg: Any) -> None:
            pending = getattr(getattr(msg, "metadata", None), "num_pending", None)
            self._undelivered = int(pending) if pending is not None else 0
            if self.arrived is not None:
                self.arrived()
            await self._queue.put(msg)

        self.stream_created = (await self.js.stream_info(MARKET_STREAM)).created
        self._sub = await self.js.subscribe(
            CANDLES + ">",
            stream=MARKET_STREAM,
            cb=received,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.ALL,
            idle_heartbeat=2.0,
        )

    async def run(self, stop: asyncio.Event, beat: Callable[[], None] | None = None) -> None:
        """Hand candles over until ``stop`` is set."""
        while not stop.is_set():
            getter = asyncio.ensure_future(self._queue.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait(
                {getter, stopper}, timeout=CHECK_EVERY_S, return_when=asyncio.FIRST_COMPLETED
            )
            if not done:  # quiet: is the stream still the one subscribed to?
                getter.cancel()
                stopper.cancel()
                await self.check()
                continue
            if getter not in done:
                getter.cancel()
                break
            stopper.cancel()
            msg = getter.result()
            try:
                candle = decode_candle(msg.data)
            except BadCandle as err:
                self.refused += 1
                log.warning("market_message_refused", error=err.message)
                continue
            self.lag = self.behind()
            self.headers = getattr(msg, "headers", None)
            await self.on_candle(candle, self.lag)
            if beat is not None:
                beat()

    async def check(self) -> bool:
        """Subscribe again from the start when the market stream is gone (created again through
        ``recreate``) or was re-created since the subscription (its creation time changed): an
        ordered consumer would otherwise wait for sequences the new stream reaches only much
        later, and the worker would trade nothing. Whether it subscribed again. NATS away is
        not a loss: the client reconnects by itself."""
        errors = require("scale", "nats.js.errors")
        nats_errors = require("scale", "nats.errors")
        try:
            info = await asyncio.wait_for(self.js.stream_info(MARKET_STREAM), CHECK_TIMEOUT_S)
        except errors.NotFoundError:
            info = None
        except (TimeoutError, nats_errors.Error, errors.Error) as err:
            log.debug("market_stream_unchecked", error=type(err).__name__)
            return False
        if info is not None and info.created == self.stream_created:
            return False
        if info is None:
            if self.recreate is None:
                return False
            self.js = await self.recreate()
        log.warning(
            "market_stream_recreated",
            detail="the market stream was lost or created again; subscribing from its start "
            "(candles already traded are skipped)",
        )
        await self.stop()
        await self.start()
        self.resubscribed += 1
        return True

    def behind(self) -> int:
        """Candles not handed over yet: delivered and queued here, or still on the server.
        Read at any time: a worker stuck on one candle falls further behind as more arrive."""
        return self._undelivered + self._queue.qsize()

    async def stop(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # a closed connection has no subscription left to end
                log.debug("market_unsubscribe_failed")
            self._sub = None


__all__ = [
    "CANDLES",
    "MARKET_STREAM",
    "PUBLISH_TIMEOUT_S",
    "BadCandle",
    "CandlePublisher",
    "CandleSubscription",
    "OnCandle",
    "candle_subject",
    "decode_candle",
    "encode_candle",
    "market_stream",
    "message_id",
]
