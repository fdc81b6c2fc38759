"""The candle stream ``rampart run`` trades: synthetic, a replayed file, or the exchange's own
(which the exchange loop streams, so it is never restarted from its start)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import sqlalchemy as sa

from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.market.loaders import load_candles
from rampart.market.settings import SIMULATED_FEEDS, FeedConfig
from rampart.market.synthetic import SyntheticFeed
from rampart.store.market_closes import stored_closes


class HasFeed(Protocol):
    """The settings this module reads: the ``feed`` section (``Settings`` has it)."""

    @property
    def feed(self) -> FeedConfig: ...


def feed_of(
    settings: HasFeed,
) -> tuple[Callable[[], Iterator[Candle]], dict[str, float] | None, list[str]]:
    """A way to (re)start the candle stream from its beginning, typical prices, symbols."""
    feed = settings.feed
    if feed.kind == "replay":
        if feed.path is None:
            raise ConfigError("Setting 'feed.path' is required when 'feed.kind' is replay.")
        series = load_candles(feed.path).series
        return series.iter_candles, {series.symbol: series.typical_price()}, [series.symbol]
    if feed.kind not in SIMULATED_FEEDS:
        # The exchange's own candles (or a DEX's prices): streamed by the exchange loop,
        # never restarted from 0.
        return _no_stream, None, list(feed.symbols)

    def synthetic() -> Iterator[Candle]:
        return SyntheticFeed(feed.symbols, seed=feed.seed, timeframe=feed.timeframe).iter_candles()

    return synthetic, None, list(feed.symbols)


def _no_stream() -> Iterator[Candle]:
    raise ConfigError("An exchange feed is not a stream that can be replayed from its start.")


def closes_of(
    settings: HasFeed, db: sa.Engine
) -> Callable[[int, int], dict[str, list[tuple[int, float]]]]:
    """Closes per symbol over ``[start, end)`` (candle open times) for the rollout's
    Sharpe-against-buy-and-hold gate. A simulated feed's are read on the very candles the
    strategies traded (the stream is re-read from its start); an exchange's or a DEX's past
    candles are not ours to re-read, so theirs are the hourly closes the service stored as the
    candles arrived (:mod:`rampart.store.market_closes`)."""
    feed = settings.feed
    if feed.kind != "replay" and feed.kind not in SIMULATED_FEEDS:
        return stored_closes(db)
    start_stream, _prices, _symbols = feed_of(settings)

    def closes(start: int, end: int) -> dict[str, list[tuple[int, float]]]:
        found: dict[str, list[tuple[int, float]]] = {}
        for candle in start_stream():
            if candle.ts >= end:
                break
            if candle.ts >= start:
                found.setdefault(candle.symbol, []).append((candle.ts, candle.close))
        return found

    return closes
