"""A column-oriented series of candles for one symbol and timeframe."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rampart.domain.candles import Candle

# Candles are materialised as Python objects a slice at a time so that iterating a
# million-candle series never holds a million Python floats per column at once.
_ITER_CHUNK = 16_384

VALUE_COLUMNS = ("open", "high", "low", "close", "volume")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _frozen(values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    # A private read-only copy: the caller can neither change the series through its own
    # array nor find its array frozen afterwards.
    array = np.array(values, dtype=dtype, copy=True, order="C")
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class CandleSeries:
    """Candles of one symbol, sorted by open time with unique timestamps.

    ``ts`` holds bar open times in UTC milliseconds; prices and volume are float64 as
    published. The arrays are read-only.
    """

    symbol: str
    timeframe: str
    timeframe_ms: int
    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _frozen(self.ts, np.int64))
        for name in VALUE_COLUMNS:
            object.__setattr__(self, name, _frozen(getattr(self, name), np.float64))
        n = len(self.ts)
        if self.ts.ndim != 1 or any(len(getattr(self, c)) != n for c in VALUE_COLUMNS):
            raise ValueError("candle series columns must be one-dimensional and equally long")
        if self.timeframe_ms <= 0:
            raise ValueError(f"timeframe_ms must be positive; got {self.timeframe_ms}")

    def __len__(self) -> int:
        return len(self.ts)

    def __repr__(self) -> str:
        span = f"{self.ts[0]}..{self.ts[-1]}" if len(self) else "empty"
        return f"CandleSeries({self.symbol} {self.timeframe}, {len(self)} candles, {span})"

    @property
    def first_ts(self) -> int | None:
        return int(self.ts[0]) if len(self) else None

    @property
    def last_ts(self) -> int | None:
        return int(self.ts[-1]) if len(self) else None

    def index_after(self, start_after_ts: int | None) -> int:
        """Index of the first candle whose open time is strictly after ``start_after_ts``."""
        if start_after_ts is None:
            return 0
        return int(np.searchsorted(self.ts, start_after_ts, side="right"))

    def count_after(self, start_after_ts: int | None) -> int:
        return len(self) - self.index_after(start_after_ts)

    def iter_candles(self, start_after_ts: int | None = None) -> Iterator[Candle]:
        """Candles in time order, starting after ``start_after_ts`` when given (resume)."""
        symbol, tf_ms = self.symbol, self.timeframe_ms
        for lo in range(self.index_after(start_after_ts), len(self), _ITER_CHUNK):
            hi = lo + _ITER_CHUNK
            columns = zip(
                self.ts[lo:hi].tolist(),
                self.open[lo:hi].tolist(),
                self.high[lo:hi].tolist(),
                self.low[lo:hi].tolist(),
                self.close[lo:hi].tolist(),
                self.volume[lo:hi].tolist(),
                strict=True,
            )
            for ts, o, h, low, c, v in columns:
                yield Candle(symbol, ts, o, h, low, c, v, tf_ms)

    def typical_price(self) -> float:
        """The median close: a price level that one spike cannot distort."""
        if not len(self):
            raise ValueError(f"the {self.symbol} series holds no candles, so it has no price")
        return float(np.median(self.close))

    def head(self, n: int) -> CandleSeries:
        """The first ``n`` candles as a new series."""
        return CandleSeries(
            self.symbol,
            self.timeframe,
            self.timeframe_ms,
            self.ts[:n],
            self.open[:n],
            self.high[:n],
            self.low[:n],
            self.close[:n],
            self.volume[:n],
        )
