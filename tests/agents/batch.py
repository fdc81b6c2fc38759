"""Plain batch computations (numpy/pandas) that the incremental code is checked against."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .realdata import Series


def seeded_ewm(x: np.ndarray, period: int, alpha: float) -> np.ndarray:
    """EWM (adjust=False) whose first value is the mean of the first ``period`` inputs."""
    out = np.full(len(x), np.nan)
    if len(x) < period:
        return out
    seeded = np.r_[x[:period].mean(), x[period:]]
    out[period - 1 :] = pd.Series(seeded).ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def ema(x: np.ndarray, period: int) -> np.ndarray:
    return seeded_ewm(x, period, 2 / (period + 1))


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    change = np.diff(close)
    gain = seeded_ewm(np.where(change > 0, change, 0.0), period, 1 / period)
    loss = seeded_ewm(np.where(change < 0, -change, 0.0), period, 1 / period)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100 - 100 / (1 + gain / loss)
    out = np.where(loss == 0, np.where(gain == 0, 50.0, 100.0), out)
    out = np.where(np.isnan(gain), np.nan, out)
    return np.r_[np.nan, out]


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    prev = np.r_[np.nan, close[:-1]]
    tr = np.fmax(high - low, np.fmax(np.abs(high - prev), np.abs(low - prev)))
    return seeded_ewm(tr, period, 1 / period)


def rolling_mean_std(x: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    windows = sliding_window_view(x, period)
    pad = np.full(period - 1, np.nan)
    return np.r_[pad, windows.mean(axis=1)], np.r_[pad, windows.std(axis=1, ddof=0)]


def prev_extremes(high: np.ndarray, low: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    """Highest high and lowest low of the ``period`` bars before each bar."""
    upper = pd.Series(high).rolling(period).max().shift(1).to_numpy()
    lower = pd.Series(low).rolling(period).min().shift(1).to_numpy()
    return upper, lower


@dataclass(frozen=True)
class Signals:
    entries: set[int]
    exits: set[int]
    unclear: set[int]
    """Bars within rounding of a threshold: the batch and incremental floats may disagree."""


def _crosses(diff: np.ndarray, band: np.ndarray) -> tuple[set[int], set[int]]:
    """EMA crosses with the trend agent's dead band: a cross needs the other side cleared."""
    ups: set[int] = set()
    downs: set[int] = set()
    last = 0
    for i, (d, b) in enumerate(zip(diff, band, strict=True)):
        if np.isnan(d):
            continue
        side = 1 if d > b else -1 if d < -b else 0
        if side == 1 and last == -1:
            ups.add(i)
        if side == -1 and last == 1:
            downs.add(i)
        last = side or last
    return ups, downs


def trend(s: Series, fast: int = 12, slow: int = 26) -> Signals:
    f, sl = ema(s.close, fast), ema(s.close, slow)
    diff = f - sl
    band = 1e-9 * np.abs(sl)
    ups, downs = _crosses(diff, band)
    near = np.abs(np.abs(diff) - band) <= 1e-12 * np.abs(sl)
    return Signals(ups, downs, set(np.flatnonzero(near).tolist()))


def mean_reversion(s: Series) -> Signals:
    r = rsi(s.close, 14)
    mean, std = rolling_mean_std(s.close, 20)
    lower = mean - 2 * std
    entry = (r < 30) & (s.close < lower)
    exit_ = r > 55
    near = (
        (np.abs(s.close - lower) <= 1e-9 * s.close)
        | (np.abs(r - 30) <= 1e-7)
        | (np.abs(r - 55) <= 1e-7)
    )
    return Signals(
        set(np.flatnonzero(entry).tolist()),
        set(np.flatnonzero(exit_).tolist()),
        set(np.flatnonzero(near).tolist()),
    )


def breakout(s: Series) -> Signals:
    upper, _ = prev_extremes(s.high, s.low, 20)
    _, floor = prev_extremes(s.high, s.low, 10)
    return Signals(
        set(np.flatnonzero(s.close > upper).tolist()),
        set(np.flatnonzero(s.close < floor).tolist()),
        set(),
    )


ORACLES = {"trend": trend, "mean_reversion": mean_reversion, "breakout": breakout}
