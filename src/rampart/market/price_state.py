"""What the market-data guard keeps per symbol and what it says of a price it did not let
count (:mod:`rampart.market.price_guard` holds the checks in order)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rampart.domain.candles import Candle

FloatArray = npt.NDArray[np.float64]

RECOMPUTE_EVERY = 120
"""Candles between two measurements of a symbol's robust band (two medians of ``window``
moves: measured on every candle they cost more than the rest of the guard)."""
MAD_TO_SIGMA = 1.4826
"""The median absolute deviation of a normal distribution times this is its σ."""
KEEP_LISTED = 10_000
"""Quarantined prices kept for a replay's listing; later ones are counted only."""

HELD, CONFIRMED, REJECTED, DROPPED, TRIMMED = "held", "confirmed", "rejected", "dropped", "trimmed"


class Bands(Protocol):
    """The bands one symbol's prices are held to, as the guard reads them (the settings'
    ``feed.guard`` bands, :class:`rampart.market.guard_settings.GuardBands`, are one). Named
    here, not imported: the settings check runs this guard, so the settings cannot be read
    back from it without a circle."""

    @property
    def move_band(self) -> float: ...
    @property
    def sigma_multiple(self) -> float: ...
    @property
    def wick_band(self) -> float: ...
    @property
    def cold_band(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Quarantined:
    """One price the guard did not let count as it came, and why."""

    symbol: str
    ts: int
    """The candle's open time (a tick's time), UTC ms."""
    field: str
    """Which value was wrong: open, high, low, close, volume, ts or price (a tick)."""
    value: float
    reason: str
    """In plain words, e.g. "the close is 1000× the last good close"."""
    outcome: str
    """held, confirmed (a held price that then counted), rejected (held, then the market
    said it was a bad print), dropped (impossible: never counts) or trimmed (a wick cut)."""
    source: str
    low: float | None = None
    high: float | None = None
    """The accepted range of ``value`` when a band applied."""

    @property
    def band(self) -> str:
        if self.low is None or self.high is None:
            return ""
        return f"{_num(self.low)}–{_num(self.high)}"


def _num(value: float) -> str:
    return f"{value:.6g}"


@dataclass(slots=True)
class SymbolPrices:
    bands: Bands
    last_ts: int | None = None
    """Open time of the newest candle seen that was not dropped (held or counted)."""
    ref: float | None = None
    """The last good close (or tick) every move is measured from."""
    ref_ts: int = 0
    moves: deque[float] = field(default_factory=deque)
    """The last ``window`` moves as close-to-close ratios (their logs are measured)."""
    width: float = 0.0
    """The move band's half-width for one candle, in log units."""
    low: float = 0.0
    high: float = 0.0
    """exp(∓width): a close or open of one candle later counts between ref·low and ref·high."""
    reach: float = 1.0
    """exp(wick_band): how far a high may go past the body (a low below it, divided)."""
    since_measured: int = RECOMPUTE_EVERY
    held: list[tuple[Candle, Quarantined | None]] = field(default_factory=list)
    """Held candles in order: the suspect ones with why, and (None) the ones after them that
    agreed, while fewer than ``confirm_candles`` have."""
    held_tick: float | None = None
    agreed: int = 0
    """Candles since the last held one that agreed with it (``confirm_candles`` needed)."""
    why: str = ""
    """Why it is still held, when a second reading failed to settle it."""


def set_width(state: SymbolPrices, width: float) -> None:
    state.width = width
    state.high = math.exp(width)
    state.low = 1 / state.high


def impossible(candle: Candle, volumes: bool = True) -> tuple[str, float, str] | None:
    """What makes ``candle`` impossible, if anything. ``volumes``: the source reports traded
    volume (a DEX quote feed does not: its candles carry 0, which then says nothing)."""
    for name in ("open", "high", "low", "close"):
        value = getattr(candle, name)
        if not (isinstance(value, float | int) and math.isfinite(value) and value > 0):
            return name, float(value), f"the {name} is not a positive number"
    volume = candle.volume
    if not (math.isfinite(volume) and volume >= 0):
        return "volume", float(volume), "the volume is negative or missing"
    if volumes and volume == 0 and not candle.open == candle.high == candle.low == candle.close:
        return "volume", 0.0, "it has no volume, yet its prices moved"
    if candle.high < max(candle.open, candle.close):
        return "high", candle.high, "the high is below the open or the close"
    if candle.low > min(candle.open, candle.close):
        return "low", candle.low, "the low is above the open or the close"
    return None


def ratio(ratio: float) -> str:
    return f"{ratio:.4g}×"


def measure(state: SymbolPrices, min_history: int) -> None:
    """The symbol's move band from its recent moves (``cold_band`` while they are few)."""
    state.since_measured = 0
    bands = state.bands
    if len(state.moves) < min_history:
        set_width(state, bands.cold_band)
        return
    moves = np.log(np.fromiter(state.moves, dtype=np.float64, count=len(state.moves)))
    sigma = MAD_TO_SIGMA * _median(np.abs(moves - _median(moves)))
    set_width(state, max(bands.move_band, bands.sigma_multiple * sigma))


def _median(values: FloatArray) -> float:
    """``float(np.median(values))`` of a non-empty 1-d array, to the bit: the middle value, or
    the two middle ones' sum halved, summed from 0.0 as numpy's mean sums (so -0.0 reads 0.0),
    NaN when one is NaN (numpy partitions NaNs last). Without ``np.median``'s generic
    reduction, which cost more than the partition itself and imported ``numpy.ma``."""
    n = len(values)
    half = n // 2
    if n % 2:
        part = np.partition(values, (half, n - 1))
        middle = 0.0 + float(part[half])
    else:
        part = np.partition(values, (half - 1, half, n - 1))
        middle = (0.0 + float(part[half - 1]) + float(part[half])) / 2
    return math.nan if math.isnan(part[n - 1]) else middle


__all__ = ["Bands", "Quarantined", "SymbolPrices", "impossible", "measure", "ratio", "set_width"]
