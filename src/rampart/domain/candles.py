"""Candles as market data. Prices are floats as published; see :mod:`rampart.domain.money`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from rampart.domain.money import dec

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


@dataclass(frozen=True, slots=True, init=False)
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
    close_ts: int = field(init=False, repr=False, compare=False)
    """When the bar closed (``ts + timeframe_ms``): decisions on this bar happen at this
    instant. Worked out once, when the candle is built: the replay loop and the engine each
    read it on every candle."""
    close_dec: Decimal = field(init=False, repr=False, compare=False)
    """The close as money (:func:`~rampart.domain.money.dec`): the engine marks every
    position with it on every candle. Worked out once, when the candle is built: a search's
    trials trade one list of candles again and again."""

    def __init__(
        self,
        symbol: str,
        ts: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        timeframe_ms: int = 60_000,
    ) -> None:
        # Each slot through its descriptor, as quick_init does (a frozen dataclass's own
        # __init__ looks every name up through object.__setattr__): one candle per bar.
        _set_symbol(self, symbol)
        _set_ts(self, ts)
        _set_open(self, open)
        _set_high(self, high)
        _set_low(self, low)
        _set_close(self, close)
        _set_volume(self, volume)
        _set_timeframe_ms(self, timeframe_ms)
        _set_close_ts(self, ts + timeframe_ms)
        _set_close_dec(self, dec(close))


def _slot_setter(name: str) -> Callable[[Candle, object], None]:
    setter: Callable[[Candle, object], None] = getattr(Candle, name).__set__
    return setter


_set_symbol, _set_ts, _set_open, _set_high, _set_low, _set_close, _set_volume = map(
    _slot_setter, ("symbol", "ts", "open", "high", "low", "close", "volume")
)
_set_timeframe_ms, _set_close_ts = _slot_setter("timeframe_ms"), _slot_setter("close_ts")
_set_close_dec = _slot_setter("close_dec")
