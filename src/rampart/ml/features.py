"""Candle features without look-ahead: a numpy batch function and an O(1) per-candle state.

Both compute the same numbers (a test holds them to 1e-9): the batch function builds training
sets, the state serves the agent one closed candle at a time. Every feature is scale-free
(ratios, z-scores, bounded oscillators), so one model can read ETH/BTC at 0.1 and NXT/BTC at
0.00003. A row's features use that candle and earlier ones only.

The recursive averages (EMA, Wilder's RSI and ATR) are seeded with the first value they see,
the same in both paths, so they agree from the first bar; rows before ``WARMUP`` are NaN in the
batch and ``None`` from the state because the averages have not forgotten their seed yet.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

RETURN_HORIZONS = (1, 3, 12, 48)
VOL_WINDOWS = (12, 48)
RSI_PERIOD = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
ATR_PERIOD = 14
VOLUME_WINDOW = 48
RANGE_WINDOW = 48
WARMUP = 100
"""Bars before the first feature row: the longest window (49 closes) plus time for the
exponential averages' seeds to fade (26-bar EMA: (25/27)^50 ≈ 2 %)."""

FEATURE_NAMES: tuple[str, ...] = (
    *(f"ret_{h}" for h in RETURN_HORIZONS),
    *(f"vol_{w}" for w in VOL_WINDOWS),
    "rsi_14",
    "macd",
    "macd_hist",
    "atr_14",
    "volume_z",
    "range_pos",
)
_LONGEST = max(*RETURN_HORIZONS, *VOL_WINDOWS, VOLUME_WINDOW, RANGE_WINDOW) + 1


def _ema(x: Array, alpha: float) -> Array:
    """y0 = x0, y = y + alpha·(x − y): the same recurrence, in the same order, as the state."""
    out = np.empty_like(x)
    y = float(x[0]) if len(x) else 0.0
    for i, v in enumerate(x.tolist()):
        if i:
            y += alpha * (v - y)
        out[i] = y
    return out


def _rolling(x: Array, window: int, fn: str) -> Array:
    """A trailing-window reduction; row i covers x[i-window+1 .. i] (NaN before that)."""
    out = np.full(len(x), np.nan)
    if len(x) < window:
        return out
    view = np.lib.stride_tricks.sliding_window_view(x, window)
    out[window - 1 :] = getattr(view, fn)(axis=1)
    return out


def _true_range(high: Array, low: Array, close: Array) -> Array:
    prev = np.concatenate(([close[0]], close[:-1])) if len(close) else close
    return np.maximum(high - low, np.maximum(np.abs(high - prev), np.abs(low - prev)))


def _rsi(avg_gain: float, avg_loss: float) -> float:
    total = avg_gain + avg_loss
    # Flat stretches (no gain, no loss) read 0.5: no pressure either way.
    return 0.5 if total <= 0.0 else avg_gain / total


def _zscore(value: float, mean: float, std: float) -> float:
    return 0.0 if std <= 0.0 else (value - mean) / std


def _position(close: float, lo: float, hi: float) -> float:
    span = hi - lo
    return 0.5 if span <= 0.0 else (close - lo) / span


def batch_features(
    high: Array, low: Array, close: Array, volume: Array
) -> tuple[npt.NDArray[np.float64], Array]:
    """(features of shape (n, len(FEATURE_NAMES)), ATR in price units) for every candle.

    Rows before ``WARMUP`` are NaN. The ATR is returned separately because labels and brackets
    need it in price units, while the feature is ATR / close.
    """
    high, low, close, volume = (np.asarray(a, dtype=np.float64) for a in (high, low, close, volume))
    n = len(close)
    cols: list[Array] = []
    logc = np.log(close)
    for h in RETURN_HORIZONS:
        r = np.full(n, np.nan)
        r[h:] = logc[h:] - logc[:-h]
        cols.append(r)
    r1 = np.full(n, np.nan)
    r1[1:] = logc[1:] - logc[:-1]
    for w in VOL_WINDOWS:
        v = np.full(n, np.nan)
        v[1:] = _rolling(r1[1:], w, "std")
        cols.append(v)
    change = np.diff(close, prepend=close[:1] if n else close)
    gains = _ema(np.maximum(change[1:], 0.0), 1.0 / RSI_PERIOD)
    losses = _ema(np.maximum(-change[1:], 0.0), 1.0 / RSI_PERIOD)
    rsi = np.full(n, np.nan)
    rsi[1:] = [_rsi(g, lo) for g, lo in zip(gains.tolist(), losses.tolist(), strict=True)]
    cols.append(rsi)
    fast = _ema(close, 2.0 / (MACD_FAST + 1))
    slow = _ema(close, 2.0 / (MACD_SLOW + 1))
    macd = (fast - slow) / close
    signal = _ema(macd, 2.0 / (MACD_SIGNAL + 1))
    cols += [macd, macd - signal]
    atr = _ema(_true_range(high, low, close), 1.0 / ATR_PERIOD)
    cols.append(atr / close)
    logv = np.log1p(volume)
    mean = _rolling(logv, VOLUME_WINDOW, "mean")
    std = _rolling(logv, VOLUME_WINDOW, "std")
    cols.append(
        np.array([_zscore(v, m, s) for v, m, s in zip(logv, mean, std, strict=True)])
        if n
        else np.empty(0)
    )
    lo = _rolling(low, RANGE_WINDOW, "min")
    hi = _rolling(high, RANGE_WINDOW, "max")
    cols.append(
        np.array([_position(c, a, b) for c, a, b in zip(close, lo, hi, strict=True)])
        if n
        else np.empty(0)
    )
    out = np.column_stack(cols) if n else np.empty((0, len(FEATURE_NAMES)))
    out[:WARMUP] = np.nan
    return out, atr


class FeatureState:
    """The same features, one closed candle at a time, in constant time and memory per candle."""

    __slots__ = (
        "_atr",
        "_bars",
        "_closes",
        "_fast",
        "_gain",
        "_highs",
        "_logv",
        "_loss",
        "_lows",
        "_prev_close",
        "_returns",
        "_signal",
        "_slow",
        "atr",
    )

    def __init__(self) -> None:
        self._bars = 0
        self._closes: deque[float] = deque(maxlen=max(RETURN_HORIZONS) + 1)
        self._returns: deque[float] = deque(maxlen=max(VOL_WINDOWS))
        self._logv: deque[float] = deque(maxlen=VOLUME_WINDOW)
        self._highs: deque[float] = deque(maxlen=RANGE_WINDOW)
        self._lows: deque[float] = deque(maxlen=RANGE_WINDOW)
        self._prev_close: float | None = None
        self._gain = self._loss = 0.0
        self._fast = self._slow = self._signal = self._atr = 0.0
        self.atr = math.nan
        """The latest ATR in price units (for brackets)."""

    @property
    def ready(self) -> bool:
        return self._bars > WARMUP

    def update(self, high: float, low: float, close: float, volume: float) -> list[float] | None:
        """Advance by one closed candle; its feature row once warmed up, else None."""
        prev = self._prev_close
        first = prev is None
        logc = math.log(close)
        if prev is not None:
            self._returns.append(logc - math.log(prev))
            change = close - prev
            g, lo = max(change, 0.0), max(-change, 0.0)
            if self._bars == 1:
                self._gain, self._loss = g, lo
            else:
                self._gain += (g - self._gain) / RSI_PERIOD
                self._loss += (lo - self._loss) / RSI_PERIOD
            tr = max(high - low, abs(high - prev), abs(low - prev))
        else:
            tr = high - low
        if first:
            self._fast = self._slow = close
            self._atr = tr
        else:
            self._fast += 2.0 / (MACD_FAST + 1) * (close - self._fast)
            self._slow += 2.0 / (MACD_SLOW + 1) * (close - self._slow)
            self._atr += (tr - self._atr) / ATR_PERIOD
        macd = (self._fast - self._slow) / close
        if first:
            self._signal = macd
        else:
            self._signal += 2.0 / (MACD_SIGNAL + 1) * (macd - self._signal)
        self._closes.append(logc)
        self._logv.append(math.log1p(volume))
        self._highs.append(high)
        self._lows.append(low)
        self._prev_close = close
        self._bars += 1
        self.atr = self._atr
        if self._bars <= max(WARMUP, _LONGEST):
            return None
        closes = self._closes
        row = [closes[-1] - closes[-1 - h] for h in RETURN_HORIZONS]
        returns = np.fromiter(self._returns, dtype=np.float64)
        row += [float(np.std(returns[-w:])) for w in VOL_WINDOWS]
        row.append(_rsi(self._gain, self._loss))
        row += [macd, macd - self._signal, self._atr / close]
        logv = np.fromiter(self._logv, dtype=np.float64)
        row.append(_zscore(logv[-1], float(np.mean(logv)), float(np.std(logv))))
        row.append(_position(close, min(self._lows), max(self._highs)))
        return row
