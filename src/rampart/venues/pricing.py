"""Fees, slippage and the intrabar rules that decide whether and where an order fills on a bar.

Everything here is a pure function of its arguments, so the paper venue and the exchange
simulator price fills identically.

Intrabar rules (a candle tells us its open, high, low and close but not the path between):

- A sell stop triggers when ``low <= stop`` and fills at ``min(open, stop)``: a bar that opens
  below the stop (a gap) fills at the open. Buy stops mirror it (``high >= stop``,
  ``max(open, stop)``). Taker fills then move by slippage, against the taker.
- A limit buy fills when ``low <= limit`` (a sell when ``high >= limit``) at the limit price,
  as a maker.
- A stop-limit becomes a limit at its trigger. If its limit is marketable at the trigger price
  it fills at once as a taker, at the slipped trigger price but never beyond its limit.
  Otherwise it rests; within the trigger bar it can still fill as a maker when the trigger was
  the open (then the whole bar happened after the trigger). When it triggered mid-bar we cannot
  know whether the bar reached the limit before or after the trigger, so we assume it did not.
- The remainder of a market order (or of a triggered stop-market) fills at later bars' opens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError, DataError, present
from rampart.domain.fills import Liquidity
from rampart.domain.money import ONE, ZERO, ceil_to_step, dec, floor_to_step
from rampart.domain.orders import OrderType, Side
from rampart.domain.quick import quick_init

FEE_QUANTUM = Decimal("1e-12")
_INF = math.inf
BPS = Decimal(10_000)


def ceil_quantum(value: Decimal) -> Decimal:
    """Round up to 12 decimal places: a fee (or the money held for one) is never short."""
    return value.quantize(FEE_QUANTUM, rounding=ROUND_UP)


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Fee rates as fractions of the notional, paid in the quote currency."""

    maker: Decimal = Decimal("0.001")
    taker: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        for name in ("maker", "taker"):
            rate = getattr(self, name)
            if not isinstance(rate, Decimal) or not rate.is_finite() or not ZERO <= rate < ONE:
                raise ConfigError(f"The {name} fee must be a Decimal from 0 up to 1, got {rate!r}.")

    def rate(self, liquidity: Liquidity) -> Decimal:
        return self.maker if liquidity is Liquidity.MAKER else self.taker

    @property
    def worst(self) -> Decimal:
        return max(self.maker, self.taker)

    def fee(self, notional: Decimal, liquidity: Liquidity) -> Decimal:
        return ceil_quantum(notional * self.rate(liquidity))


@dataclass(frozen=True, slots=True)
class SlippageModel:
    """Adverse price move for takers: ``base + impact × min(qty / volume, 1)`` basis points.

    A bar with zero volume counts as fully consumed (the whole impact applies): nothing
    traded there, so a taker would have walked the book.
    """

    base_bps: Decimal = Decimal(2)
    impact_bps: Decimal = Decimal(10)

    def __post_init__(self) -> None:
        for name in ("base_bps", "impact_bps"):
            bps = getattr(self, name)
            if not isinstance(bps, Decimal) or not bps.is_finite() or not ZERO <= bps < BPS:
                raise ConfigError(f"Slippage {name} must be a Decimal from 0 up to 10000.")

    @property
    def cap(self) -> Decimal:
        """The largest fraction a fill can slip: what a market buy must be able to pay."""
        return (self.base_bps + self.impact_bps) / BPS

    def fraction(self, qty: Decimal, volume: Decimal) -> Decimal:
        share = ONE if volume <= ZERO else min(qty / volume, ONE)
        return (self.base_bps + self.impact_bps * share) / BPS


def adverse_price(reference: Decimal, side: Side, fraction: Decimal, tick: Decimal) -> Decimal:
    """The reference moved by ``fraction`` against a taker, rounded to the tick against it too."""
    if side is Side.BUY:
        return ceil_to_step(reference * (ONE + fraction), tick)
    # A sell never fills at zero: one tick is the lowest price the venue can print.
    return max(floor_to_step(reference * (ONE - fraction), tick), tick)


@quick_init
@dataclass(frozen=True, slots=True)
class Bar:
    """A candle's numbers as Decimals, checked once when it arrives."""

    symbol: str
    ts: int
    close_ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    @staticmethod
    def check(candle: Candle) -> None:
        """Refuse a candle no venue could have printed (cheap: floats only)."""
        o, h, lo, c, v = candle.open, candle.high, candle.low, candle.close, candle.volume
        if (
            type(o) is float
            and type(h) is float
            and type(lo) is float
            and type(c) is float
            and type(v) is float
            and o > 0
            and h > 0
            and lo > 0
            and c > 0
            and v >= 0
            and o + h + lo + c + v < _INF
        ):
            return  # the common case, decided without building anything
        values = (o, h, lo, c, v)
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise DataError(f"The {candle.symbol} candle at {candle.ts} has a missing price.")
        if min(candle.open, candle.high, candle.low, candle.close) <= 0 or candle.volume < 0:
            raise DataError(
                f"The {candle.symbol} candle at {candle.ts} has a non-positive price "
                "or a negative volume."
            )

    @classmethod
    def from_candle(cls, candle: Candle) -> Bar:
        cls.check(candle)
        # Each price through its float's shortest repr, so 0.1 becomes Decimal("0.1").
        o = dec(float(candle.open))
        h = dec(float(candle.high))
        lo = dec(float(candle.low))
        c = dec(float(candle.close))
        v = dec(float(candle.volume))
        # Some sources print an open or close outside the high-low range; those prices did
        # trade, so the range is widened to include them rather than the bar refused.
        h, lo = max(h, o, c), min(lo, o, c)
        return cls(candle.symbol, candle.ts, candle.close_ts, o, h, lo, c, v)


@quick_init
@dataclass(frozen=True, slots=True)
class Touch:
    """What one bar does to one resting order.

    ``triggered`` is the order's trigger state after the bar. ``reference`` is the price the
    fill starts from (None: no fill on this bar); taker fills slip from it but never past
    ``bound`` (a stop-limit's limit).
    """

    triggered: bool
    reference: Decimal | None = None
    liquidity: Liquidity = Liquidity.TAKER
    bound: Decimal | None = None


UNTOUCHED = Touch(False)
"""A stop the bar did not trigger (most bars a bracket rests through): one shared answer."""
TRIGGERED = Touch(True)
"""A stop-limit the bar triggered without reaching its limit."""
_RESTING = {flag: Touch(flag, None, Liquidity.MAKER) for flag in (False, True)}
"""A limit the bar did not reach, by trigger state (a Touch is frozen: shared safely)."""


def _limit_touch(side: Side, limit: Decimal, bar: Bar, triggered: bool) -> Touch:
    reached = bar.low <= limit if side is Side.BUY else bar.high >= limit
    if not reached:
        return _RESTING[triggered]
    return Touch(triggered, limit, Liquidity.MAKER)


def touch(
    kind: OrderType,
    side: Side,
    limit: Decimal | None,
    stop: Decimal | None,
    triggered: bool,
    bar: Bar,
) -> Touch:
    """Apply the intrabar rules (see the module docstring) to one order and one bar."""
    if kind is OrderType.MARKET:
        return Touch(True, bar.open)
    if kind is OrderType.LIMIT:
        return _limit_touch(side, present(limit, "a limit order's price"), bar, False)
    stop = present(stop, "a stop order's trigger")
    if triggered:
        if kind is OrderType.STOP_MARKET:
            return Touch(True, bar.open)
        return _limit_touch(side, present(limit, "a stop-limit's price"), bar, True)
    sell = side is Side.SELL
    if not (bar.low <= stop if sell else bar.high >= stop):
        return UNTOUCHED
    at = min(bar.open, stop) if sell else max(bar.open, stop)
    if kind is OrderType.STOP_MARKET:
        return Touch(True, at)
    limit = present(limit, "a stop-limit's price")
    if (limit <= at) if sell else (limit >= at):
        return Touch(True, at, Liquidity.TAKER, limit)
    gapped = bar.open <= stop if sell else bar.open >= stop
    if gapped:
        return _limit_touch(side, limit, bar, True)
    return TRIGGERED
