"""Incremental indicators over closed bars: O(1) per update (amortized), floats.

Every indicator has ``update(...)``, ``value`` (None until ready) and ``ready``. They hold only
what the next update needs, so an agent costs the same on bar 10 as on bar 10 million.

Running sums drift by a rounding error per update, and the error stays behind after the values
that caused it leave the window (a price that falls from 1.5 to 0.00003 keeps the rounding
error of 1.5). The windowed indicators (SMA, Bollinger) therefore track how much magnitude
has passed through their sums and rebuild them exactly from the window when the result would
otherwise lose more than about six of its sixteen digits, and in any case every ``_RESYNC``
updates. Both are rare, so updates stay O(1) amortized.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

_RESYNC = 1024
_CANCEL = 1e-6
"""Rebuild when the result is smaller than this fraction of the magnitude summed since the
last rebuild: the rounding error is ~1e-16 of that magnitude, so ~1e-10 of the result."""


def _check_period(name: str, period: int, minimum: int = 1) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < minimum:
        raise ValueError(
            f"{name} period must be a whole number of at least {minimum}, not {period!r}"
        )
    return period


SETTLED = 1e-3
"""An exponentially smoothed indicator counts as settled once its starting value weighs less
than this in it: the warm-up check then finds its signals equal to a fully warmed agent's."""


def settles_after(period: int, *, wilder: bool = False) -> int:
    """Bars until an EMA (``alpha = 2/(period+1)``, or Wilder's ``1/period``) seeded with the
    mean of its first ``period`` values has forgotten its seed to within ``SETTLED``."""
    alpha = 1.0 / period if wilder else 2.0 / (period + 1)
    if alpha >= 1.0:
        return period
    return period + math.ceil(math.log(SETTLED) / math.log(1.0 - alpha))


class EMA:
    """Exponential moving average, seeded with the simple mean of the first ``period`` values."""

    __slots__ = ("_count", "_seed", "alpha", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = _check_period("EMA", period)
        self.alpha = 2.0 / (period + 1)
        self._count = 0
        self._seed = 0.0
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> float | None:
        value = self.value
        if value is not None:
            value += self.alpha * (x - value)
            self.value = value
            return value
        self._count += 1
        self._seed += x
        if self._count == self.period:
            self.value = self._seed / self.period
        return self.value


class SMA:
    """Simple moving average: a running sum over a fixed window."""

    __slots__ = ("_mass", "_since_sync", "_sum", "_window", "period", "value")

    def __init__(self, period: int) -> None:
        self.period = _check_period("SMA", period)
        self._window: deque[float] = deque(maxlen=period)
        self._sum = 0.0
        self._mass = 0.0
        self._since_sync = 0
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, x: float) -> float | None:
        window = self._window
        full = len(window) == self.period
        if full:
            old = window[0]
            self._sum -= old
            self._mass += abs(old)
        window.append(x)
        self._sum += x
        self._mass += abs(x)
        self._since_sync += 1
        if len(window) < self.period:
            return None
        if abs(self._sum) < self._mass * _CANCEL or self._since_sync >= _RESYNC:
            self._sum = math.fsum(window)
            self._mass = math.fsum(abs(v) for v in window)
            self._since_sync = 0
        self.value = self._sum / self.period
        return self.value


class RSI:
    """Relative strength index with Wilder's smoothing (alpha = 1/period).

    The first averages are the simple means of the first ``period`` changes. A window with
    neither gains nor losses reads 50 (no pressure either way); losses alone read 0, gains
    alone 100.
    """

    __slots__ = ("_avg_gain", "_avg_loss", "_changes", "_prev", "period", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("RSI", period)
        self._prev: float | None = None
        self._changes = 0
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, close: float) -> float | None:
        prev = self._prev
        self._prev = close
        if prev is None:
            return None
        change = close - prev
        gain = change if change > 0 else 0.0
        loss = -change if change < 0 else 0.0
        n = self.period
        if self._changes < n:
            self._changes += 1
            self._avg_gain += gain / n
            self._avg_loss += loss / n
            if self._changes < n:
                return None
        else:
            self._avg_gain = (self._avg_gain * (n - 1) + gain) / n
            self._avg_loss = (self._avg_loss * (n - 1) + loss) / n
        self.value = rsi_from_averages(self._avg_gain, self._avg_loss)
        return self.value


def rsi_from_averages(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        return 50.0 if avg_gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


class ATR:
    """Average true range with Wilder's smoothing.

    The first bar has no previous close, so its true range is its high − low. The first ATR
    is the mean of the first ``period`` true ranges.
    """

    __slots__ = ("_count", "_seed", "period", "prev_close", "value")

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("ATR", period)
        self.prev_close: float | None = None
        """The last close (the trend agent updates it in its own written-out step)."""
        self._count = 0
        self._seed = 0.0
        self.value: float | None = None

    @property
    def ready(self) -> bool:
        return self.value is not None

    def update(self, high: float, low: float, close: float) -> float | None:
        prev = self.prev_close
        self.prev_close = close
        tr = high - low
        if prev is not None:
            up = high - prev
            if up < 0:
                up = -up
            down = low - prev
            if down < 0:
                down = -down
            # max(tr, up, down) without the call (every bar): the first of equals is kept.
            if up > tr:
                tr = up
            if down > tr:
                tr = down
        value = self.value
        n = self.period
        if value is not None:
            value = (value * (n - 1) + tr) / n
            self.value = value
            return value
        self._count += 1
        self._seed += tr
        if self._count == n:
            self.value = self._seed / n
        return self.value


class Bands(NamedTuple):
    lower: float
    middle: float
    upper: float
    std: float


class Bollinger:
    """Bollinger bands: mean ± ``k`` population standard deviations over ``period`` values.

    The sums are kept relative to a reference price inside the window: plain sums of squares
    cancel catastrophically for tiny prices (NXT/BTC ≈ 3e-5) and near-flat stretches.
    """

    __slots__ = (
        "_mass",
        "_ref",
        "_s1",
        "_s2",
        "_since_sync",
        "_window",
        "k",
        "lower",
        "middle",
        "period",
        "std",
        "upper",
    )

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        self.period = _check_period("Bollinger", period, 2)
        if not math.isfinite(k) or k <= 0:
            raise ValueError(f"Bollinger width must be a positive number, not {k!r}")
        self.k = k
        self._window: deque[float] = deque(maxlen=period)
        self._ref = 0.0
        self._s1 = 0.0
        self._s2 = 0.0
        self._mass = 0.0
        self._since_sync = 0
        self.middle: float | None = None
        self.std: float | None = None
        self.upper: float | None = None
        self.lower: float | None = None

    @property
    def ready(self) -> bool:
        return self.middle is not None

    @property
    def value(self) -> Bands | None:
        if self.middle is None or self.std is None or self.upper is None or self.lower is None:
            return None
        return Bands(self.lower, self.middle, self.upper, self.std)

    def _resync(self) -> None:
        window = self._window
        # The newest value is never further than the window's range from its mean, so the
        # squares stay within a factor ~2n of the centred sum; a flat window gives exact zeros.
        ref = window[-1]
        self._ref = ref
        self._s1 = math.fsum(v - ref for v in window)
        self._s2 = math.fsum((v - ref) * (v - ref) for v in window)
        self._mass = self._s2
        self._since_sync = 0

    def update(self, x: float) -> Bands | None:
        window = self._window
        n = self.period
        if not window:
            self._ref = x
        ref = self._ref
        if len(window) == n:
            old = window[0] - ref
            self._s1 -= old
            self._s2 -= old * old
            self._mass += old * old
        window.append(x)
        d = x - ref
        self._s1 += d
        self._s2 += d * d
        self._mass += d * d
        self._since_sync += 1
        if len(window) < n:
            return None
        m2 = self._s2 - self._s1 * self._s1 / n
        if m2 < self._mass * _CANCEL or self._since_sync >= _RESYNC:
            self._resync()
            m2 = self._s2 - self._s1 * self._s1 / n
        std = math.sqrt(m2 / n) if m2 > 0.0 else 0.0
        middle = self._ref + self._s1 / n
        self.middle = middle
        self.std = std
        self.upper = middle + self.k * std
        self.lower = middle - self.k * std
        return self.value


class Channel(NamedTuple):
    lower: float
    upper: float


class Donchian:
    """Highest high and lowest low of the previous ``period`` bars, excluding the current one.

    After ``update`` with bar t, ``upper``/``lower`` describe bars t−period … t−1, which is
    what a breakout on bar t is measured against. Monotonic deques keep each update O(1)
    amortized.
    """

    __slots__ = ("_highs", "_index", "_lows", "lower", "period", "upper")

    def __init__(self, period: int = 20) -> None:
        self.period = _check_period("Donchian", period)
        self._highs: deque[tuple[int, float]] = deque()
        self._lows: deque[tuple[int, float]] = deque()
        self._index = 0
        self.upper: float | None = None
        self.lower: float | None = None

    @property
    def ready(self) -> bool:
        return self.upper is not None

    @property
    def value(self) -> Channel | None:
        if self.upper is None or self.lower is None:
            return None
        return Channel(self.lower, self.upper)

    def update(self, high: float, low: float) -> Channel | None:
        i = self._index
        highs = self._highs
        lows = self._lows
        # The deques hold bars i−period … i−1 here: read the channel before adding bar i.
        if i >= self.period:
            self.upper = highs[0][1]
            self.lower = lows[0][1]
        while highs and highs[-1][1] <= high:
            highs.pop()
        highs.append((i, high))
        while lows and lows[-1][1] >= low:
            lows.pop()
        lows.append((i, low))
        oldest = i - self.period + 1
        if highs[0][0] < oldest:
            highs.popleft()
        if lows[0][0] < oldest:
            lows.popleft()
        self._index = i + 1
        return self.value


class MACDValue(NamedTuple):
    macd: float
    signal: float
    histogram: float


class MACD:
    """MACD line (fast EMA − slow EMA), its signal EMA and the histogram."""

    __slots__ = ("_fast", "_signal", "_slow", "histogram", "macd", "signal")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        if _check_period("MACD fast", fast) >= _check_period("MACD slow", slow):
            raise ValueError(f"MACD fast period {fast} must be shorter than the slow one {slow}")
        self._fast = EMA(fast)
        self._slow = EMA(slow)
        self._signal = EMA(signal)
        self.macd: float | None = None
        self.signal: float | None = None
        self.histogram: float | None = None

    @property
    def ready(self) -> bool:
        return self.signal is not None

    @property
    def value(self) -> MACDValue | None:
        if self.macd is None or self.signal is None or self.histogram is None:
            return None
        return MACDValue(self.macd, self.signal, self.histogram)

    def update(self, x: float) -> MACDValue | None:
        fast = self._fast.update(x)
        slow = self._slow.update(x)
        if fast is None or slow is None:
            return None
        line = fast - slow
        self.macd = line
        signal = self._signal.update(line)
        if signal is not None:
            self.signal = signal
            self.histogram = line - signal
        return self.value
