"""Position sizing: the largest entry the profile, the equity and the free cash allow.

Every quotient is rounded toward zero and every divisor away from it, at a precision high
enough that products of prices and quantities are exact, so the sized quantity can never
break a limit because of rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import TYPE_CHECKING

from rampart.domain.intents import Intent
from rampart.domain.money import ONE, ZERO

if TYPE_CHECKING:
    from rampart.risk.context import RiskContext

EXACT = Context(prec=80, rounding=ROUND_FLOOR)
"""Floor rounding: for quantities, which must never come out larger than the limit."""
_UP = Context(prec=80, rounding=ROUND_CEILING)
"""Ceiling rounding: for divisors, which must never come out smaller."""


@dataclass(frozen=True, slots=True)
class SizeLimits:
    """The three caps on an entry's quantity, before the size hint and the lot size."""

    by_risk: Decimal
    """risk_per_trade × equity / (entry − stop)."""
    by_position: Decimal
    """(max_position × equity − what the symbol already holds or is buying) / entry."""
    by_cash: Decimal
    """free_cash / (entry × (1 + taker fee))."""

    @property
    def largest(self) -> Decimal:
        return min(self.by_risk, self.by_position, self.by_cash)

    @property
    def binding(self) -> str:
        """Which cap decides the size: ``cash``, ``risk`` or ``position`` (cash wins ties)."""
        if self.by_cash <= min(self.by_risk, self.by_position):
            return "cash"
        return "risk" if self.by_risk <= self.by_position else "position"


def committed_value(intent: Intent, ctx: RiskContext) -> Decimal:
    """What the symbol already holds (at the entry price) or is buying (each working entry at
    its limit price, a market one at the last price): the room the largest position leaves."""
    return _UP.add(_UP.multiply(ctx.position_qty, intent.entry_price), ctx.working_value)


def _caps(intent: Intent, ctx: RiskContext) -> tuple[tuple[Decimal, Decimal], ...]:
    """Each cap as (numerator, divisor): risk, position, cash. Divisors round up."""
    entry, stop, p = intent.entry_price, intent.stop_loss, ctx.profile
    room = EXACT.subtract(EXACT.multiply(p.max_position, ctx.equity), committed_value(intent, ctx))
    return (
        (EXACT.multiply(p.risk_per_trade, ctx.equity), _UP.subtract(entry, stop)),
        (room, entry),
        (ctx.free_cash, _UP.multiply(entry, _UP.add(ONE, ctx.taker_fee))),
    )


def size_limits(intent: Intent, ctx: RiskContext) -> SizeLimits:
    by_risk, by_position, by_cash = (_quotient(n, d) for n, d in _caps(intent, ctx))
    return SizeLimits(by_risk, by_position, by_cash)


def _quotient(numerator: Decimal, divisor: Decimal) -> Decimal:
    if divisor <= ZERO:
        return ZERO
    return max(EXACT.divide(numerator, divisor), ZERO)


def size_entry(intent: Intent, ctx: RiskContext) -> Decimal:
    """Quantity for an entry: the smallest cap, scaled by the size hint, floored to the lot.

    Each cap is floored to whole lots in one division, so a cap that is an exact number of
    lots (2,900 = 3,333.3… × 0.87) is not lost to the rounding of an intermediate quotient.
    """
    hint = min(max(intent.size_hint, ZERO), ONE)
    lot = ctx.instrument.lot_size
    if lot <= ZERO:
        return max(EXACT.multiply(size_limits(intent, ctx).largest, hint), ZERO)
    steps = min(
        _whole_lots(EXACT.multiply(n, hint), _UP.multiply(d, lot)) for n, d in _caps(intent, ctx)
    )
    qty = EXACT.multiply(steps, lot)
    return qty if qty > ZERO else ZERO


def _whole_lots(numerator: Decimal, divisor: Decimal) -> Decimal:
    """``_quotient(numerator, divisor)`` floored to an integer: the whole lots a cap allows,
    the same Decimal (value and exponent) as flooring the 80-digit quotient.

    Worked out from the integer part alone (``divide_int``, far cheaper than 80 digits): for
    a positive quotient that is not a whole number, the 80-digit quotient floored is that
    integer part, with exponent 0 as ``divide_int`` gives it. A whole-number quotient is
    exact at 80 digits and keeps its own exponent when flooring (1.0000E+6, not 1000000):
    that rare case is worked out as before. Anything not positive is zero either way."""
    if divisor <= ZERO or numerator <= ZERO:
        return ZERO
    whole = EXACT.divide_int(numerator, divisor)
    if EXACT.multiply(whole, divisor) == numerator:
        return EXACT.divide(numerator, divisor).to_integral_value(rounding=ROUND_FLOOR)
    return whole
