"""Replaying loaded candle series as one time-ordered stream."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator, Iterator, Sequence

from rampart.domain.candles import Candle
from rampart.market.series import CandleSeries

_YIELD_EVERY = 4096


def _key(candle: Candle) -> tuple[int, str]:
    return candle.ts, candle.symbol


class ReplayFeed:
    """Candles of several series merged by (open time, symbol), optionally resuming after a time.

    Iterating twice replays from the same point both times.
    """

    def __init__(self, series: Sequence[CandleSeries], start_after_ts: int | None = None) -> None:
        self.series = list(series)
        self.start_after_ts = start_after_ts

    @property
    def symbols(self) -> list[str]:
        return sorted({s.symbol for s in self.series})

    @property
    def total(self) -> int:
        """How many candles iteration yields, for progress bars."""
        return sum(s.count_after(self.start_after_ts) for s in self.series)

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[Candle]:
        streams = [s.iter_candles(self.start_after_ts) for s in self.series]
        if len(streams) == 1:
            return streams[0]
        # heapq.merge is stable: equal keys keep the order of the series list.
        return heapq.merge(*streams, key=_key)

    async def candles(self) -> AsyncIterator[Candle]:
        """The same stream for async consumers (the engine's ``CandleFeed`` port)."""
        for count, candle in enumerate(self, start=1):
            yield candle
            if count % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
