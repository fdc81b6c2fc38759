"""Builders for the market tests: small candle series and checks on error sentences."""

from __future__ import annotations

import re

import numpy as np

from rampart.domain.candles import timeframe_ms
from rampart.market.series import CandleSeries

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000  # an hour boundary in Nov 2023
MINUTE = 60_000


def make_series(
    n: int = 50,
    symbol: str = "ETH/BTC",
    timeframe: str = "1m",
    seed: int = 3,
    price: float = 0.0523,
) -> CandleSeries:
    """A consistent random walk with prices at 8 decimals, like BTC-quoted pairs."""
    rng = np.random.default_rng(seed)
    tf = timeframe_ms(timeframe)
    close = np.round(price * np.exp(np.cumsum(rng.normal(0, 0.002, n))), 8)
    open_ = np.round(np.concatenate(([price], close[:-1])), 8)
    high = np.round(np.maximum(open_, close) * (1 + rng.uniform(0, 0.003, n)), 8)
    low = np.round(np.minimum(open_, close) * (1 - rng.uniform(0, 0.003, n)), 8)
    volume = np.round(rng.uniform(0.5, 900.0, n), 8)
    ts = T0 + np.arange(n, dtype=np.int64) * tf
    return CandleSeries(symbol, timeframe, tf, ts, open_, high, low, close, volume)


def rows_of(series: CandleSeries) -> list[list[float]]:
    return [
        [int(t), o, h, lo, c, v]
        for t, o, h, lo, c, v in zip(
            series.ts.tolist(),
            series.open.tolist(),
            series.high.tolist(),
            series.low.tolist(),
            series.close.tolist(),
            series.volume.tolist(),
            strict=True,
        )
    ]


def assert_same_candles(a: CandleSeries, b: CandleSeries) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.ts, b.ts)
    for column in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, column), getattr(b, column), err_msg=column)


def assert_one_sentence(message: str, *needles: str) -> None:
    """A user-facing error: one line, one sentence, ending with a full stop, naming things."""
    assert "\n" not in message
    assert "Traceback" not in message
    assert message.endswith("."), message
    # A second sentence would start after ". " with a capital letter.
    assert re.search(r"\.\s+[A-Z]", message) is None, message
    for needle in needles:
        assert needle in message, (needle, message)


def assert_clean(series: CandleSeries) -> None:
    """The invariants every loaded series must satisfy."""
    assert len(series) > 0
    assert np.all(np.diff(series.ts) > 0)
    for column in ("open", "high", "low", "close", "volume"):
        assert np.all(np.isfinite(getattr(series, column))), column
    assert np.all(series.low > 0)
    assert np.all(series.high >= series.low)
    assert np.all((series.open >= series.low) & (series.open <= series.high))
    assert np.all((series.close >= series.low) & (series.close <= series.high))
    assert np.all(series.volume >= 0)
