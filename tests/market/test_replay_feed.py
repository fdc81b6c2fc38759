"""ReplayFeed: several series merged into one time-ordered stream, resumable, with a total."""

from __future__ import annotations

import asyncio
from itertools import pairwise
from pathlib import Path

from market_helpers import MINUTE, T0, make_series

from rampart.domain.candles import Candle
from rampart.market.loaders import load_candles
from rampart.market.replay import ReplayFeed


def test_merges_by_time_then_symbol() -> None:
    one_minute = make_series(30, symbol="LTC/BTC", timeframe="1m", seed=1)
    five_minute = make_series(8, symbol="ETH/BTC", timeframe="5m", seed=2)
    feed = ReplayFeed([one_minute, five_minute])
    candles = list(feed)
    assert len(candles) == feed.total == len(feed) == 38
    keys = [(c.ts, c.symbol) for c in candles]
    assert keys == sorted(keys)
    # At T0 both series have a candle: ETH/BTC comes before LTC/BTC.
    assert [c.symbol for c in candles[:3]] == ["ETH/BTC", "LTC/BTC", "LTC/BTC"]
    assert {c.timeframe_ms for c in candles if c.symbol == "ETH/BTC"} == {5 * MINUTE}
    assert [c for c in candles if c.symbol == "LTC/BTC"] == list(one_minute.iter_candles())
    assert feed.symbols == ["ETH/BTC", "LTC/BTC"]


def test_resumes_after_a_timestamp_and_counts_what_is_left() -> None:
    a = make_series(30, symbol="LTC/BTC", seed=1)
    b = make_series(30, symbol="ETH/BTC", seed=2)
    everything = list(ReplayFeed([a, b]))
    cut = T0 + 9 * MINUTE
    resumed = ReplayFeed([a, b], start_after_ts=cut)
    assert list(resumed) == [c for c in everything if c.ts > cut]
    assert resumed.total == 2 * 20
    assert list(resumed) == list(resumed)  # iterating again replays the same candles
    assert ReplayFeed([a], start_after_ts=a.last_ts).total == 0


def test_replays_real_files(shared_data: Path) -> None:
    series = [load_candles(shared_data / n).series for n in ("ETH_BTC-5m.feather",
                                                              "LTC_BTC-5m.feather")]  # fmt: skip
    feed = ReplayFeed(series)
    candles = list(feed)
    assert len(candles) == feed.total == 2 * 5760
    assert all((x.ts, x.symbol) < (y.ts, y.symbol) for x, y in pairwise(candles))


def test_async_stream_matches_iteration() -> None:
    feed = ReplayFeed([make_series(10, seed=1), make_series(10, symbol="LTC/BTC", seed=2)])

    async def collect() -> list[Candle]:
        return [c async for c in feed.candles()]

    assert asyncio.run(collect()) == list(feed)
