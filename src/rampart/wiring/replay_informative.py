"""Other symbols' candles in a replay: an agent declaring another symbol in
``informative`` reads its closed bars, fed beside the replayed file's in time order.

They are only looked at, never traded: no account holds them, no mark or order comes from
them. Each bar reaches the engine's series book once it has closed by the replayed candle's
close, so a view shows exactly what a live engine fed both symbols would show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rampart.agents.informative import SeriesBook
from rampart.domain.candles import Candle
from rampart.market.loaders import load_candles


def other_candles(files: Sequence[Path]) -> list[Candle]:
    """Every bar of ``files``, in the order they close."""
    rows: list[Candle] = []
    for path in files:
        rows.extend(load_candles(path).series.iter_candles())
    rows.sort(key=lambda c: (c.ts + c.timeframe_ms, c.symbol))
    return rows


def feeder(rows: Sequence[Candle], book: SeriesBook) -> Callable[[int], None]:
    """``feed(now)``: every bar of ``rows`` closed by ``now`` not yet fed, into ``book``."""
    at = 0

    def feed(now: int) -> None:
        nonlocal at
        while at < len(rows) and rows[at].ts + rows[at].timeframe_ms <= now:
            book.feed(rows[at])
            at += 1

    return feed
