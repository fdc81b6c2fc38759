"""bracket_from_atr: stops and targets the risk engine can accept, or a clear refusal."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from rampart.agents.base import AgentConstraints, bracket_from_atr
from rampart.domain.instruments import Instrument
from rampart.domain.money import dec


def instrument(tick: Decimal, symbol: str = "X/USDT") -> Instrument:
    return Instrument(symbol, "X", "USDT", tick, Decimal("0.001"), Decimal("0.001"), Decimal(5))


def valid_stops(entry: Fraction, tick: Fraction, c: AgentConstraints) -> tuple[int, int]:
    """Range of n with n·tick a valid stop: positive, below entry, distance within limits.

    Exact rational arithmetic, independent of the implementation's Decimal rounding.
    """
    lo_price = entry - Fraction(c.max_stop) * entry
    hi_price = entry - Fraction(c.min_stop) * entry
    n_lo = max(math.ceil(lo_price / tick), 1)
    n_hi = math.floor(hi_price / tick)
    if n_hi * tick >= entry:
        n_hi = math.ceil(entry / tick) - 1
    return n_lo, n_hi


entries = st.builds(lambda m, e: Decimal(m).scaleb(e), st.integers(1, 999_999), st.integers(-12, 2))
ticks = st.builds(
    lambda m, e: Decimal(m).scaleb(e), st.sampled_from([1, 2, 5, 25]), st.integers(-14, 2)
)
fractions_ = st.integers(0, 1000).map(lambda n: Decimal(n) / 10_000)  # 0 … 10 %
rrs = st.integers(0, 400).map(lambda n: Decimal(n) / 100)


@st.composite
def constraint_sets(draw: st.DrawFn) -> AgentConstraints:
    lo = draw(fractions_)
    hi = lo + draw(fractions_)
    assume(hi > 0)
    return AgentConstraints(lo, hi, draw(rrs))


@settings(max_examples=400, deadline=None)
@given(
    entry=entries,
    atr_frac=st.floats(0, 0.3) | st.just(0.0),
    k=st.floats(0, 6),
    target_rr=rrs.filter(lambda r: r > 0),
    constraints=constraint_sets(),
    tick=ticks,
)
@example(  # the tiny-price pair: NXT/BTC with its 1e-9 tick
    entry=Decimal("0.00003127"),
    atr_frac=0.004,
    k=2.0,
    target_rr=Decimal(2),
    constraints=AgentConstraints(Decimal("0.01"), Decimal("0.03"), Decimal("1.5")),
    tick=Decimal("1E-9"),
)
@example(  # a tick wider than the whole 1–3 % stop range: impossible
    entry=Decimal("100"),
    atr_frac=0.02,
    k=1.0,
    target_rr=Decimal(2),
    constraints=AgentConstraints(Decimal("0.01"), Decimal("0.03"), Decimal("1.5")),
    tick=Decimal("5"),
)
def test_bracket_rules_hold_or_refusal_is_justified(
    entry: Decimal,
    atr_frac: float,
    k: float,
    target_rr: Decimal,
    constraints: AgentConstraints,
    tick: Decimal,
) -> None:
    atr = float(entry) * atr_frac
    e, t = Fraction(entry), Fraction(tick)
    n_lo, n_hi = valid_stops(e, t, constraints)
    try:
        stop, take_profit = bracket_from_atr(
            entry, atr, k, target_rr, constraints, instrument(tick)
        )
    except ValueError as exc:
        assert n_lo > n_hi, f"refused although stops {n_lo}..{n_hi} ticks exist"
        assert f"{tick:f} tick" in str(exc) and f"below the entry {entry:f}" in str(exc)
        return
    assert n_lo <= n_hi
    s, tp = Fraction(stop), Fraction(take_profit)
    # On the tick, on the right sides, inside the stop limits.
    assert (s / t).denominator == 1 and (tp / t).denominator == 1
    assert 0 < s < e < tp
    assert Fraction(constraints.min_stop) * e <= e - s <= Fraction(constraints.max_stop) * e
    # Reward:risk reaches max(target, min_rr), and the target is the nearest tick that does.
    rr = max(Fraction(target_rr), Fraction(constraints.min_rr))
    assert (tp - e) / (e - s) >= rr
    assert (tp - t - e) / (e - s) < rr
    # The stop is k×ATR (clamped) rounded down, unless that tick broke a limit.
    wanted = min(
        max(Fraction(dec(k * atr)), Fraction(constraints.min_stop) * e),
        Fraction(constraints.max_stop) * e,
    )
    floor_n = math.floor((e - wanted) / t)
    expected_n = min(max(floor_n, n_lo), n_hi)
    assert s == expected_n * t


def test_rounding_down_out_of_the_limit_is_nudged_back_in() -> None:
    # 3 % below 1.005 is 0.97485; k×ATR asks for 0.9749, whose tick below (0.97) is 3.5 %
    # away, so the stop moves up to the first tick inside the limit.
    limits = AgentConstraints(Decimal("0.01"), Decimal("0.03"), Decimal("1"))
    entry = Decimal("1.005")
    stop, take_profit = bracket_from_atr(
        entry, 0.0301, 1.0, Decimal(2), limits, instrument(Decimal("0.01"))
    )
    assert stop == Decimal("0.98")
    assert (entry - stop) / entry <= Decimal("0.03")
    # 2R above 1.005 with a 0.025 risk is 1.055, rounded up to the tick.
    assert take_profit == Decimal("1.06")


def test_min_rr_wins_over_a_lower_target() -> None:
    limits = AgentConstraints(Decimal("0.01"), Decimal("0.05"), Decimal("1.5"))
    stop, take_profit = bracket_from_atr(
        Decimal("200"), 2.0, 2.0, Decimal("1.0"), limits, instrument(Decimal("0.01"))
    )
    assert (take_profit - 200) / (200 - stop) >= Decimal("1.5")


@pytest.mark.parametrize(
    ("entry", "atr", "k", "rr", "match"),
    [
        (Decimal(0), 1.0, 2.0, Decimal(2), "entry price"),
        (Decimal(-5), 1.0, 2.0, Decimal(2), "entry price"),
        (Decimal("NaN"), 1.0, 2.0, Decimal(2), "entry price"),
        (Decimal(100), float("nan"), 2.0, Decimal(2), "ATR"),
        (Decimal(100), -1.0, 2.0, Decimal(2), "ATR"),
        (Decimal(100), 1.0, float("inf"), Decimal(2), "ATR multiple"),
        (Decimal(100), 1.0, 2.0, Decimal(0), "reward:risk"),
    ],
)
def test_bad_inputs_raise_one_sentence(
    entry: Decimal, atr: float, k: float, rr: Decimal, match: str
) -> None:
    limits = AgentConstraints(Decimal("0.01"), Decimal("0.03"), Decimal("1.5"))
    with pytest.raises(ValueError, match=match):
        bracket_from_atr(entry, atr, k, rr, limits, instrument(Decimal("0.01")))


@pytest.mark.parametrize(
    ("lo", "hi", "rr"),
    [
        ("0.03", "0.01", "1"),
        ("-0.01", "0.03", "1"),
        ("0", "0", "1"),
        ("0.01", "1", "1"),
        ("0.01", "0.03", "-1"),
    ],
)
def test_constraints_refuse_impossible_limits(lo: str, hi: str, rr: str) -> None:
    with pytest.raises(ValueError, match=r"stop limits|reward:risk"):
        AgentConstraints(Decimal(lo), Decimal(hi), Decimal(rr))
