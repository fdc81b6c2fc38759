"""The simulator's market: candles from files or the synthetic feed, released one step at a time.

A step is every candle sharing the next open time (one per symbol on a common grid). The
market time is the close of the last released step: the simulator's orders and fills are
stamped with it, as the paper venue stamps them with the candle being matched.

Only a bounded tail of released candles is kept per symbol (for ``klines`` and tickers), so
a long soak does not grow memory.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError, DataError
from rampart.market.loaders import load_candles
from rampart.market.synthetic import SyntheticFeed

DEFAULT_HISTORY = 5000


class MarketTape:
    def __init__(
        self,
        symbols: Sequence[str],
        candles: Iterable[Candle],
        timeframe_ms: int,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        if not symbols:
            raise ConfigError("The simulator needs at least one symbol to trade.")
        if history < 2:
            raise ConfigError("The simulator must keep at least two candles per symbol.")
        self.symbols = sorted(set(symbols))
        self.timeframe_ms = timeframe_ms
        self.history: dict[str, deque[Candle]] = {s: deque(maxlen=history) for s in self.symbols}
        self._source: Iterator[Candle] = iter(candles)
        self._peeked: Candle | None = None
        self.steps = 0
        self.now_ms = 0
        self.exhausted = False

    # -- building ----------------------------------------------------------------------------

    @classmethod
    def synthetic(
        cls,
        symbols: Sequence[str],
        seed: int = 7,
        timeframe: str = "1m",
        history: int = DEFAULT_HISTORY,
        start_ms: int | None = None,
    ) -> MarketTape:
        kwargs = {} if start_ms is None else {"start_ms": start_ms}
        feed = SyntheticFeed(symbols, seed=seed, timeframe=timeframe, **kwargs)
        return cls(feed.symbols, feed.iter_candles(), feed.timeframe_ms, history)

    @classmethod
    def from_files(cls, paths: Sequence[Path | str], history: int = DEFAULT_HISTORY) -> MarketTape:
        if not paths:
            raise ConfigError("Give at least one candle file to the simulator.")
        series = [load_candles(p).series for p in paths]
        symbols = [s.symbol for s in series]
        if len(set(symbols)) != len(symbols):
            raise ConfigError("Two candle files hold the same symbol; give one file per symbol.")
        frames = {s.timeframe_ms for s in series}
        if len(frames) != 1:
            raise ConfigError("All candle files given to the simulator must share one timeframe.")
        if any(len(s) == 0 for s in series):
            raise DataError("A candle file given to the simulator holds no candles.")
        merged = heapq.merge(*(s.iter_candles() for s in series), key=lambda c: (c.ts, c.symbol))
        return cls(symbols, merged, frames.pop(), history)

    # -- reading -----------------------------------------------------------------------------

    def last(self, symbol: str) -> Candle | None:
        tail = self.history.get(symbol)
        return tail[-1] if tail else None

    def klines(self, symbol: str, start: int | None, end: int | None, limit: int) -> list[Candle]:
        """Released candles of ``symbol`` with open time in [start, end], like Binance: the
        oldest ``limit`` from ``start`` when it is given, else the newest ``limit``."""
        rows = [
            c
            for c in self.history.get(symbol, ())
            if (start is None or c.ts >= start) and (end is None or c.ts <= end)
        ]
        return rows[:limit] if start is not None else rows[-limit:]

    def window(self, symbol: str, span_ms: int) -> list[Candle]:
        """Released candles of the last ``span_ms`` (for 24-hour tickers)."""
        tail = self.history.get(symbol, ())
        if not tail:
            return []
        since = tail[-1].close_ts - span_ms
        return [c for c in tail if c.ts >= since]

    # -- releasing ---------------------------------------------------------------------------

    def next_close_ms(self) -> int | None:
        """When the next step's candles close (None once the data has run out): a market on
        the wall clock releases a step only once that moment has passed."""
        if self._peeked is None:
            self._peeked = next(self._source, None)
        return None if self._peeked is None else self._peeked.close_ts

    def _next(self) -> Candle | None:
        if self._peeked is not None:
            candle, self._peeked = self._peeked, None
            return candle
        return next(self._source, None)

    def step(self) -> list[Candle]:
        """Release the candles of the next open time; empty when the data has run out."""
        first = self._next()
        if first is None:
            self.exhausted = True
            return []
        group = [first]
        while True:
            candle = self._next()
            if candle is None:
                break
            if candle.ts != first.ts:
                self._peeked = candle
                break
            group.append(candle)
        for candle in group:
            self.history[candle.symbol].append(candle)
        self.steps += 1
        self.now_ms = max(self.now_ms, max(c.close_ts for c in group))
        return group
