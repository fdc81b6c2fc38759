"""``feed.guard:`` settings of the market-data guard (:mod:`rampart.market.price_guard`).

Bands are in log-return units (0.20 ≈ a move of +22 % / −18 % in one candle). The defaults
flag nothing in the real candles of ``../shared/data/`` (their largest close-to-close move is
0.119, XLM/BTC 5m; their largest wick beyond the candle's body 0.059) nor in Rampart's own
synthetic feed at its default timeframe (largest move 0.035 over 200,000 candles of each
default symbol), while a zero, a negative, a ×1000 or a ×0.001 print and a −30 % crash in one
candle (−0.357) are all outside them. docs/operators/market-data-guard.md has the figures.

A setting that would hold any of Rampart's own synthetic candles as suspect is refused when
the settings load, in one sentence.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from rampart.settings_base import Section, Symbol, refusal


class GuardBands(Section):
    """The bands one symbol's prices are held to (the defaults, or one symbol's override)."""

    move_band: float = Field(default=0.20, gt=0, le=5)
    """Least half-width of the accepted close-to-close (and close-to-open) move, in log
    units; widened by ``sigma_multiple`` robust standard deviations of the symbol's recent
    moves when those are wilder, and by the square root of the candles a gap spans."""
    sigma_multiple: float = Field(default=12.0, gt=0, le=1000)
    """How many robust standard deviations (1.4826 × the median absolute deviation of the
    last ``window`` moves) a move may reach before it is suspect."""
    wick_band: float = Field(default=0.25, gt=0, le=5)
    """How far a high or a low may reach beyond the candle's own open and close, in log
    units; past it the wick is trimmed to the band before the candle counts."""
    cold_band: float = Field(default=0.80, gt=0, le=10)
    """The move band while a symbol has fewer than ``min_history`` moves to measure."""


class PriceGuardConfig(GuardBands):
    enabled: bool = True
    """Off only for data a person has vetted (``rampart replay --trust-data``): every price
    then counts as it comes."""
    window: int = Field(default=240, ge=10, le=100_000)
    """Recent moves the robust band is measured over, per symbol."""
    min_history: int = Field(default=30, ge=2, le=100_000)
    """Moves needed before the robust band applies (``cold_band`` until then)."""
    confirm_candles: int = Field(default=1, ge=1, le=10)
    """Where no independent reading exists (a replay, a DEX quote feed): candles after a
    suspect one that must agree with it before it counts. On an exchange only its own price
    (ticker, order book or trades) confirms a held candle, never the candles after it."""
    second_reading_timeout_s: float = Field(default=3.0, gt=0, le=60)
    """Each source of a second reading (the exchange's ticker, order book, trades) answers
    within this or the next is asked; the candle loop never waits on any of them."""
    max_age_s: float = Field(default=86_400.0, gt=0)
    """Live feeds: a candle that closed longer ago than this is stale and dropped (a backfill
    after an outage of less than this still counts)."""
    future_tolerance_s: float = Field(default=5.0, ge=0)
    """Live feeds: a candle may close at most this far after the clock's now (a bar still
    forming is not a price yet)."""
    max_held: int = Field(default=60, ge=2)
    """Candles held per symbol at most; past it the oldest is dropped (and listed)."""
    symbols: dict[Symbol, GuardBands] = Field(default_factory=dict)
    """Per-symbol bands, e.g. ``{"PEPE/USDT": {move_band: 0.5}}``; others use the defaults."""

    def bands(self, symbol: str) -> GuardBands:
        return self.symbols.get(symbol, self)

    @model_validator(mode="after")
    def _flags_nothing_of_ours(self) -> PriceGuardConfig:
        if not self.enabled or self == DEFAULT_GUARD:
            return self
        from rampart.market.guard_check import own_data_flagged

        found = own_data_flagged(self)
        if found is not None:
            raise refusal(found)
        return self


DEFAULT_GUARD = PriceGuardConfig.model_construct()
"""The defaults, built without validation (the validator compares against it)."""

__all__ = ["DEFAULT_GUARD", "GuardBands", "PriceGuardConfig"]
