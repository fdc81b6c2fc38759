"""The sizer's whole-lot count is worked out from the integer part of each cap's quotient;
it must be the very Decimal (value and exponent, so the stored quantity's text) that flooring
the 80-digit quotient gives, as the sizer did before."""

from __future__ import annotations

import random
from decimal import ROUND_FLOOR, Decimal

from hypothesis import HealthCheck, given, settings

from rampart.domain.intents import Intent
from rampart.domain.money import ONE, ZERO
from rampart.risk.checks import RiskContext
from rampart.risk.sizing import _UP, EXACT, _caps, _whole_lots, size_entry, size_limits

from .test_sizing_properties import scenarios


def _floored_quotient(numerator: Decimal, divisor: Decimal) -> Decimal:
    # The sizer's former steps: the 80-digit quotient, at least zero, floored.
    q = ZERO if divisor <= ZERO else max(EXACT.divide(numerator, divisor), ZERO)
    return q.to_integral_value(rounding=ROUND_FLOOR)


def _former_size_entry(intent: Intent, ctx: RiskContext) -> Decimal:
    hint = min(max(intent.size_hint, ZERO), ONE)
    lot = ctx.instrument.lot_size
    if lot <= ZERO:
        return max(EXACT.multiply(size_limits(intent, ctx).largest, hint), ZERO)
    steps = min(
        _floored_quotient(EXACT.multiply(n, hint), _UP.multiply(d, lot))
        for n, d in _caps(intent, ctx)
    )
    qty = EXACT.multiply(steps, lot)
    return qty if qty > ZERO else ZERO


def test_whole_lots_is_the_floored_quotient_in_value_and_exponent() -> None:
    rng = random.Random(43)
    cases = [("100.00", "0.0001"), ("1E+3", "1"), ("6", "2.0"), ("0.000", "3"), ("-5", "2")]
    cases += [("7", "0"), ("7", "-1"), ("12345.67", "0.0040012")]
    pairs = [(Decimal(n), Decimal(d)) for n, d in cases]
    for _ in range(2000):
        d = Decimal(rng.randint(1, 10**9)).scaleb(rng.randint(-12, 3))
        k = Decimal(rng.randint(0, 10**7))
        exact = rng.random() < 0.5  # a whole-number quotient, exponents both ways
        n = EXACT.multiply(k, d) if exact else Decimal(rng.randint(-10, 10**15)).scaleb(-4)
        pairs.append((n, d))
    for n, d in pairs:
        got, want = _whole_lots(n, d), _floored_quotient(n, d)
        assert (got, str(got)) == (want, str(want)), (n, d)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_size_entry_is_the_former_sizer_to_the_last_digit(
    case: tuple[Intent, RiskContext],
) -> None:
    intent, ctx = case
    got, want = size_entry(intent, ctx), _former_size_entry(intent, ctx)
    assert (got, str(got)) == (want, str(want))
