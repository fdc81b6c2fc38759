"""Candles as market data. Prices are floats as published; see :mod:`rampart.domain.money`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.money import dec
from rampart.domain.quick import quick_init

TIMEFRAME_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        known = ", ".join(TIMEFRAME_MS)
        raise ValueError(f"unknown timeframe {timeframe!r}; use one of {known}") from None


@quick_init
@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV bar. ``ts`` is the bar's open time in UTC milliseconds."""

    symbol: str
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    timeframe_ms: int = 60_000

    @property
    def close_ts(self) -> int:
        """When the bar closed: decisions on this bar happen at this instant."""
        return self.ts + self.timeframe_ms

    @property
    def close_dec(self) -> Decimal:
        return dec(self.close)
