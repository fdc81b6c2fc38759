"""What the feed tests share: settings for a fast paced feed, and the market stream read back
in full to check it holds every candle exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

from rampart.config import Settings, load_settings
from rampart.domain.candles import Candle, timeframe_ms
from rampart.market.service_feed import feed_of
from rampart.messaging.market import MARKET_STREAM, decode_candle
from rampart.messaging.nats_link import connect

SYMBOLS = ["BTC/USDT", "ETH/USDT"]
HANG_GUARD_S = 60.0
"""Only so that a broken test fails instead of hanging; nothing is asserted on it."""


def feed_settings(nats_url: str, *, speed: float = 600.0, **scale: Any) -> Settings:
    """A synthetic 1m feed paced at ``speed`` (600: a candle step every 0.1 s)."""
    return load_settings(
        feed={"kind": "synthetic", "symbols": SYMBOLS, "seed": 7, "speed": speed},
        alerts={"enabled": False},
        api={"enabled": False},
        scale={"nats_url": nats_url, "renew_every_s": 0.5, "feed_lease_s": 2.0, **scale},
    )


def source_candles(settings: Settings, count: int) -> list[Candle]:
    stream, _typical, _symbols = feed_of(settings)
    out: list[Candle] = []
    for candle in stream():
        if len(out) >= count:
            break
        out.append(candle)
    return out


async def stream_candles(url: str) -> list[Candle]:
    """Every message on the market stream, in stream order."""
    nc = await connect(url, "test-reader")
    try:
        js = nc.jetstream()
        state = (await js.stream_info(MARKET_STREAM)).state
        found = []
        for seq in range(state.first_seq, state.last_seq + 1):
            msg = await js.get_msg(MARKET_STREAM, seq)
            found.append(decode_candle(msg.data))
        return found
    finally:
        await nc.close()


async def stream_count(url: str) -> int:
    nc = await connect(url, "test-count")
    try:
        return int((await nc.jetstream().stream_info(MARKET_STREAM)).state.messages)
    finally:
        await nc.close()


def assert_exactly_once(candles: list[Candle], settings: Settings) -> None:
    """Per symbol: open times strictly one timeframe apart from the feed's first candle on,
    so nothing is missing, repeated or out of order; and each candle is the source's own."""
    tf = timeframe_ms(settings.feed.timeframe)
    source = {(c.symbol, c.ts): c for c in source_candles(settings, 2 * len(candles) + 10)}
    for symbol in SYMBOLS:
        times = [c.ts for c in candles if c.symbol == symbol]
        assert times, f"no {symbol} candle on the stream"
        first = min(ts for (s, ts) in source if s == symbol)
        assert times == [first + i * tf for i in range(len(times))], f"{symbol}: gap or repeat"
    for candle in candles:
        assert source[(candle.symbol, candle.ts)] == candle


async def until(done: Any, what: str) -> None:
    """Poll ``done()`` (an awaitable predicate) until true; a hang guard only."""

    async def wait() -> None:
        while not await done():
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(wait(), HANG_GUARD_S)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


__all__ = [
    "HANG_GUARD_S",
    "SYMBOLS",
    "assert_exactly_once",
    "feed_settings",
    "source_candles",
    "stream_candles",
    "stream_count",
    "until",
]
