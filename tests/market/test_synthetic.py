"""The synthetic feed: reproducible, realistic in its statistics, resumable to the candle."""

from __future__ import annotations

import asyncio
from itertools import islice

import numpy as np
import pytest
from market_helpers import assert_clean

from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.market.synthetic import BLOCK, SyntheticFeed

SYMBOLS = ["SOL/USDT", "BTC/USDT", "ETH/USDT"]


def _returns(close: np.ndarray) -> np.ndarray:
    return np.diff(np.log(close))


def _excess_kurtosis(r: np.ndarray) -> float:
    centred = r - r.mean()
    return float((centred**4).mean() / (centred**2).mean() ** 2 - 3.0)


def _autocorrelation(x: np.ndarray, lag: int) -> float:
    centred = x - x.mean()
    return float((centred[lag:] * centred[:-lag]).mean() / centred.var())


def test_same_seed_same_candles_other_seed_other_candles() -> None:
    a = SyntheticFeed(SYMBOLS, seed=11).generate("ETH/USDT", 5000)
    b = SyntheticFeed(["ETH/USDT"], seed=11).generate("ETH/USDT", 5000)
    c = SyntheticFeed(SYMBOLS, seed=12).generate("ETH/USDT", 5000)
    np.testing.assert_array_equal(a.close, b.close)  # other symbols do not disturb a symbol
    np.testing.assert_array_equal(a.volume, b.volume)
    assert not np.array_equal(a.close, c.close)


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_returns_have_fat_tails_and_volatility_clustering(symbol: str) -> None:
    series = SyntheticFeed(SYMBOLS, seed=7).generate(symbol, 100_000)
    r = _returns(series.close)
    assert _excess_kurtosis(r) > 1.0
    assert _autocorrelation(np.abs(r), 1) > 0.1
    # Returns themselves stay nearly uncorrelated: clustering is in size, not direction.
    assert abs(_autocorrelation(r, 1)) < 0.05
    # Volume rises with the size of the move.
    assert np.corrcoef(np.abs(r), series.volume[1:])[0, 1] > 0.3


def test_candles_are_consistent_and_usdt_prices_have_two_decimals() -> None:
    feed = SyntheticFeed(SYMBOLS, seed=3, start_prices={"SOL/USDT": 0.5})
    for symbol in SYMBOLS:
        series = feed.generate(symbol, 20_000)
        assert_clean(series)
        assert np.all(series.volume > 0)
        for column in (series.open, series.high, series.low, series.close):
            cents = column * 100
            np.testing.assert_allclose(cents, np.round(cents), atol=1e-6)
        np.testing.assert_array_equal(series.open[1:], series.close[:-1])
        assert np.all(np.diff(series.ts) == 60_000)
    assert feed.generate("SOL/USDT", 1).open[0] == 0.5


def test_default_start_prices_and_other_quotes() -> None:
    feed = SyntheticFeed(["BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT", "ETH/BTC"])
    firsts = {s: feed.generate(s, 1).open[0] for s in feed.symbols}
    assert firsts == {
        "BTC/USDT": 42_000.0,
        "ETH/USDT": 2_300.0,
        "SOL/USDT": 100.0,
        "DOGE/USDT": 100.0,
        "ETH/BTC": 100.0,
    }
    eth_btc = feed.generate("ETH/BTC", 500).close
    assert not np.allclose(eth_btc * 100, np.round(eth_btc * 100))  # finer than cents


def test_generate_matches_the_candle_stream() -> None:
    feed = SyntheticFeed(["BTC/USDT"], seed=5, timeframe="5m")
    big = feed.generate("BTC/USDT", 200_000)
    assert len(big) == 200_000 and big.timeframe_ms == 300_000
    streamed = list(islice(feed.iter_candles(), BLOCK + 10))
    assert streamed == list(big.head(BLOCK + 10).iter_candles())


def test_iteration_interleaves_symbols_in_time_order() -> None:
    feed = SyntheticFeed(SYMBOLS, seed=1, start_ms=1_600_000_000_000)
    candles = list(islice(feed.iter_candles(), 3 * 50))
    keys = [(c.ts, c.symbol) for c in candles]
    assert keys == sorted(keys)
    assert [c.symbol for c in candles[:3]] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert candles[0].ts == 1_600_000_000_000 and candles[0].timeframe_ms == 60_000


@pytest.mark.parametrize("resume_at", [0, 7, BLOCK - 1, BLOCK, BLOCK + 123])
def test_resuming_after_a_timestamp_gives_identical_candles(resume_at: int) -> None:
    first_run = list(islice(SyntheticFeed(SYMBOLS, seed=9).iter_candles(), 3 * (BLOCK + 250)))
    passed = first_run[3 * resume_at + 2]  # the last symbol at that time: a whole timestamp
    restarted = SyntheticFeed(SYMBOLS, seed=9)  # a new process would build a new feed
    resumed = list(islice(restarted.iter_candles(start_after_ts=passed.ts), 300))
    assert resumed == first_run[3 * resume_at + 3 : 3 * resume_at + 303]


def test_resuming_before_the_start_starts_at_the_beginning() -> None:
    feed = SyntheticFeed(["BTC/USDT"])
    head = list(islice(feed.iter_candles(), 5))
    assert list(islice(feed.iter_candles(start_after_ts=head[0].ts - 1), 5)) == head


def test_async_candles_match_the_iterator() -> None:
    feed = SyntheticFeed(["BTC/USDT", "ETH/USDT"], seed=4)

    async def take(n: int) -> list[Candle]:
        out = []
        async for candle in feed.candles():
            out.append(candle)
            if len(out) == n:
                break
        return out

    assert asyncio.run(take(100)) == list(islice(feed.iter_candles(), 100))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"symbols": []}, "at least one symbol"),
        ({"symbols": ["BTCUSDT"]}, "'BTCUSDT' must look like BASE/QUOTE"),
        ({"symbols": ["BTC/USDT"], "timeframe": "7m"}, "'7m'"),
        ({"symbols": ["BTC/USDT"], "start_prices": {"BTC/USDT": -1.0}}, "must be positive"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SyntheticFeed(**kwargs)  # type: ignore[arg-type]
    assert needle in caught.value.message
    assert caught.value.message.endswith(".")
