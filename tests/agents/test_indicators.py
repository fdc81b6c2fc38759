"""Incremental indicators against plain batch computations (numpy/pandas) on real candles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from rampart.agents.indicators import ATR, EMA, MACD, RSI, SMA, Bollinger, Donchian

from .batch import atr as batch_atr
from .batch import rsi as batch_rsi
from .batch import seeded_ewm
from .realdata import CANDLE_FILES, load

RTOL = 1e-9
# A few files cover every kind of data: a normal pair, a tiny-price pair, 1m data with gaps
# and flat bars, and a USDT-quoted pair.
FILES = [
    f
    for f in ("ETH_BTC-5m.feather", "NXT_BTC-5m.feather", "ETC_BTC-1m.json", "XRP_USDT-5m.feather")
    if f in CANDLE_FILES
]


def nan_to(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def assert_matches(ours: np.ndarray, batch: np.ndarray, atol: float = 0.0) -> None:
    """Same readiness (NaN where not ready), then equal to RTOL relative.

    ``atol`` is for outputs that cross or touch zero (a MACD line, a flat window's standard
    deviation), where a relative error means nothing: it is set from the price level.
    """
    assert np.array_equal(np.isnan(ours), np.isnan(batch))
    ready = ~np.isnan(batch)
    assert ready.sum() > 0
    np.testing.assert_allclose(ours[ready], batch[ready], rtol=RTOL, atol=atol)


@pytest.fixture(params=FILES)
def series(request: pytest.FixtureRequest, shared_data: Path):
    return load(shared_data, request.param)


@pytest.mark.parametrize("period", [2, 12, 26])
def test_ema_matches_pandas(series, period: int) -> None:
    ema = EMA(period)
    ours = nan_to([ema.update(c) for c in series.close.tolist()])
    assert_matches(ours, seeded_ewm(series.close, period, 2 / (period + 1)))
    assert ema.ready and ema.value == ours[-1]


@pytest.mark.parametrize("period", [1, 20, 200])
def test_sma_matches_numpy(series, period: int) -> None:
    sma = SMA(period)
    ours = nan_to([sma.update(c) for c in series.close.tolist()])
    batch = np.full(len(ours), np.nan)
    batch[period - 1 :] = sliding_window_view(series.close, period).mean(axis=1)
    assert_matches(ours, batch)


@pytest.mark.parametrize("period", [14, 3])
def test_rsi_matches_wilder_smoothing(series, period: int) -> None:
    rsi = RSI(period)
    ours = nan_to([rsi.update(c) for c in series.close.tolist()])
    assert_matches(ours, batch_rsi(series.close, period), atol=RTOL * 100.0)
    assert np.nanmin(ours) >= 0.0 and np.nanmax(ours) <= 100.0


def test_atr_matches_wilder_true_range(series) -> None:
    atr = ATR(14)
    ours = nan_to(
        [
            atr.update(h, lo, c)
            for h, lo, c in zip(series.high, series.low, series.close, strict=True)
        ]
    )
    assert_matches(ours, batch_atr(series.high, series.low, series.close, 14))


@pytest.mark.parametrize(("period", "k"), [(20, 2.0), (5, 1.5)])
def test_bollinger_matches_numpy(series, period: int, k: float) -> None:
    bands = Bollinger(period, k)
    rows = [bands.update(c) for c in series.close.tolist()]
    close = series.close
    windows = sliding_window_view(close, period)
    mean = np.r_[np.full(period - 1, np.nan), windows.mean(axis=1)]
    std = np.r_[np.full(period - 1, np.nan), windows.std(axis=1, ddof=0)]
    scale = float(np.median(close))
    assert_matches(nan_to([r.middle if r else None for r in rows]), mean)
    # numpy's own two-pass std of a flat window is ~1e-16 of the price, not exactly 0.
    assert_matches(nan_to([r.std if r else None for r in rows]), std, atol=1e-12 * scale)
    assert_matches(nan_to([r.upper if r else None for r in rows]), mean + k * std)
    assert_matches(nan_to([r.lower if r else None for r in rows]), mean - k * std)


@pytest.mark.parametrize("period", [20, 1])
def test_donchian_matches_shifted_rolling_extremes(series, period: int) -> None:
    channel = Donchian(period)
    rows = [channel.update(h, lo) for h, lo in zip(series.high, series.low, strict=True)]
    upper = pd.Series(series.high).rolling(period).max().shift(1).to_numpy()
    lower = pd.Series(series.low).rolling(period).min().shift(1).to_numpy()
    assert_matches(nan_to([r.upper if r else None for r in rows]), upper)
    assert_matches(nan_to([r.lower if r else None for r in rows]), lower)


def test_macd_matches_pandas(series) -> None:
    macd = MACD(12, 26, 9)
    rows = [macd.update(c) for c in series.close.tolist()]
    close = series.close
    line = seeded_ewm(close, 12, 2 / 13) - seeded_ewm(close, 26, 2 / 27)
    signal = np.full(len(close), np.nan)
    signal[25:] = seeded_ewm(line[25:], 9, 2 / 10)
    atol = RTOL * float(np.median(close))
    assert_matches(
        nan_to([r.macd if r else None for r in rows]),
        np.where(np.isnan(signal), np.nan, line),
        atol,
    )
    assert_matches(nan_to([r.signal if r else None for r in rows]), signal, atol)
    assert_matches(nan_to([r.histogram if r else None for r in rows]), line - signal, atol)


# -- invariants on arbitrary data, flat runs included -------------------------------------------

prices = st.lists(
    st.sampled_from([0.00003127, 0.0000313, 1.5, 1.25, 40000.0, 40000.5]) | st.floats(1e-5, 1e5),
    min_size=1,
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(prices, st.integers(2, 15))
def test_bollinger_and_donchian_on_arbitrary_series(values: list[float], period: int) -> None:
    bands = Bollinger(period, 2.0)
    channel = Donchian(period)
    for i, x in enumerate(values):
        b = bands.update(x)
        ch = channel.update(x, x)
        if i + 1 < period:
            assert b is None
        else:
            window = np.array(values[i + 1 - period : i + 1])
            scale = float(window.max())
            assert b is not None and b.std >= 0.0 and b.lower <= b.middle <= b.upper
            assert abs(b.middle - window.mean()) <= RTOL * scale
            assert abs(b.std - window.std()) <= RTOL * window.std() + 1e-12 * scale
        if i < period:
            assert ch is None
        else:
            previous = values[i - period : i]
            assert ch == (min(previous), max(previous))


def test_flat_window_has_zero_width_bands() -> None:
    bands = Bollinger(5, 2.0)
    for x in [1.0, 3.0, 2.0, 5.0, 4.0] + [0.00003127] * 5:
        b = bands.update(x)
    assert b is not None and b.std == 0.0 and b.lower == b.middle == b.upper == 0.00003127


def test_rsi_reads_fifty_without_movement_and_extremes_one_way() -> None:
    flat, up, down = RSI(3), RSI(3), RSI(3)
    for i in range(6):
        flat.update(2.0)
        up.update(2.0 + i)
        down.update(2.0 - i * 0.1)
    assert (flat.value, up.value, down.value) == (50.0, 100.0, 0.0)


@pytest.mark.parametrize(
    "build",
    [
        lambda: EMA(0),
        lambda: SMA(-1),
        lambda: RSI(True),
        lambda: Bollinger(1),
        lambda: Bollinger(5, 0.0),
        lambda: MACD(26, 12),
        lambda: Donchian(0),
        lambda: ATR(2.5),
    ],  # type: ignore[arg-type]
)
def test_bad_periods_raise_clear_errors(build) -> None:
    with pytest.raises(ValueError, match=r"period|width|shorter"):
        build()
