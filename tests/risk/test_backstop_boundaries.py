"""The backstop guards after sizing, at their exact edge: the limit itself passes, one lot more
is refused with the guard's code.

The guards re-check whatever the sizer returns, so a sizing bug is refused instead of traded.
A guard loosened by a factor (``risk > 2 × limit``) still refuses a sizer that is three times
too big, which is all the faulty-sizer tests in test_checks.py show; only a quantity one lot
(the instrument's smallest step) past the limit pins the guard to the limit itself.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.risk.checks import RiskContext, RiskEngine, RiskVerdict
from rampart.risk.codes import RejectCode
from rampart.risk.profiles import DEFAULT_PROFILES

from .helpers import BTC, buy, make_ctx

D = Decimal
WHOLE_LOTS = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("1"), D("1"), D("5"))
LOTS = [D("1e-8"), D("0.00001"), D("0.001"), D("0.1"), D("1")]


def _fixed(qty: Decimal) -> RiskEngine:
    """An engine whose sizer returns ``qty`` whatever the intent: the guards alone decide."""

    def sizer(intent: Intent, ctx: RiskContext) -> Decimal:
        return qty

    return RiskEngine(sizer=sizer)


def _verdicts(
    at_limit: Decimal, intent: Intent, ctx: RiskContext
) -> tuple[RiskVerdict, RiskVerdict]:
    lot = ctx.instrument.lot_size
    return _fixed(at_limit).check(intent, ctx), _fixed(at_limit + lot).check(intent, ctx)


# -- risk per trade ---------------------------------------------------------------------------

RISK_CASES = [
    # profile, equity, entry, stop, take, instrument, quantity losing exactly the limit
    # aggressive: 2 % of 10,000 = 200 at an 8 USDT stop distance is 25 BTC (2,500 of 3,500
    # the position limit allows, so only the risk guard is at its edge).
    ("aggressive", "10000", "100", "92", "110", BTC, "25"),
    ("aggressive", "10000", "100", "92", "110", WHOLE_LOTS, "25"),
    # moderate: a 5 % stop puts both limits at 20 BTC; the risk guard runs first, so one lot
    # more must be refused for risk (a loosened risk guard shows as max_position instead).
    ("moderate", "10000", "100", "95", "110", BTC, "20"),
    ("moderate", "10000", "100", "95", "110", WHOLE_LOTS, "20"),
    # A small account with an odd stop distance: 2 % of 1,234.56 = 24.6912 at 6.4 a unit.
    ("aggressive", "1234.56", "80", "73.6", "90", BTC, "3.858"),
]


@pytest.mark.parametrize(
    ("profile", "equity", "entry", "stop", "take", "instrument", "qty"), RISK_CASES
)
def test_risk_guard_takes_the_limit_and_refuses_one_lot_more(
    profile: str,
    equity: str,
    entry: str,
    stop: str,
    take: str,
    instrument: Instrument,
    qty: str,
) -> None:
    intent = buy(entry, stop, take)
    ctx = make_ctx(
        profile_name=profile, equity=D(equity), free_cash=D(equity), instrument=instrument
    )
    limit = ctx.profile.risk_per_trade * ctx.equity
    assert (D(entry) - D(stop)) * D(qty) == limit  # the case really sits on the edge

    at, over = _verdicts(D(qty), intent, ctx)
    assert at.approved, at.message
    assert at.qty == D(qty) and at.risk_amount == limit
    assert not over.approved and over.qty == 0
    assert over.code is RejectCode.RISK_PER_TRADE, over.message
    assert "at its stop-loss" in over.message


def test_the_default_sizer_lands_exactly_on_the_risk_limit() -> None:
    # The same edge from the real sizer: it may use the whole limit, and the guard lets it.
    verdict = RiskEngine().check(buy("100", "92", "110"), make_ctx(profile_name="aggressive"))
    assert verdict.approved and verdict.qty == D("25") and verdict.risk_amount == D("200")


# -- max position -----------------------------------------------------------------------------

POSITION_CASES = [
    # profile, equity, instrument, quantity worth exactly the limit at entry 100 (1 % stop,
    # so the risk guard has room to spare and only the position guard is at its edge).
    ("conservative", "10000", BTC, "10"),
    ("moderate", "10000", BTC, "20"),
    ("aggressive", "10000", BTC, "35"),
    ("aggressive", "10000", WHOLE_LOTS, "35"),
    ("moderate", "777.77", BTC, "1.55554"),
]


@pytest.mark.parametrize(("profile", "equity", "instrument", "qty"), POSITION_CASES)
def test_position_guard_takes_the_limit_and_refuses_one_lot_more(
    profile: str, equity: str, instrument: Instrument, qty: str
) -> None:
    intent = buy("100", "99", "103")
    ctx = make_ctx(
        profile_name=profile, equity=D(equity), free_cash=D(equity), instrument=instrument
    )
    limit = ctx.profile.max_position * ctx.equity
    assert D(qty) * 100 == limit  # the case really sits on the edge

    at, over = _verdicts(D(qty), intent, ctx)
    assert at.approved, at.message
    assert at.qty == D(qty)
    assert not over.approved and over.qty == 0
    assert over.code is RejectCode.MAX_POSITION, over.message
    assert "This position would be worth" in over.message


# -- the same edges over random accounts, prices and lots ------------------------------------


def _floor_lots(amount: Decimal, per_unit: Decimal, lot: Decimal) -> Decimal:
    """The most whole lots whose cost (``per_unit`` each) stays within ``amount``."""
    with localcontext() as exact:
        exact.prec = 80
        return (amount / (per_unit * lot)).to_integral_value(ROUND_FLOOR) * lot


@st.composite
def edges(draw: st.DrawFn) -> tuple[Intent, RiskContext]:
    profile = draw(st.sampled_from(list(DEFAULT_PROFILES.values())))
    entry_ticks = draw(st.integers(1_000, 10**7))  # 10 to 100,000 at a 0.01 tick
    distance = draw(st.decimals(profile.min_stop, profile.max_stop, places=4))
    stop_ticks = int((entry_ticks * (1 - distance)).to_integral_value(ROUND_FLOOR))
    entry, stop = D(entry_ticks) / 100, D(stop_ticks) / 100
    # Keep the stop inside the profile after rounding to the tick.
    if (entry - stop) / entry > profile.max_stop:
        stop = (stop + D("0.01")).quantize(D("0.01"))
    take = entry + (entry - stop) * 4  # reward:risk 4 passes every profile
    lot = draw(st.sampled_from(LOTS))
    instrument = Instrument("BASE/QUOTE", "BASE", "QUOTE", D("0.01"), lot, lot, D("0"))
    equity = draw(st.decimals(D("10"), D("10000000"), places=2))
    ctx = make_ctx(
        profile=profile,
        profile_name=profile.name,
        instrument=instrument,
        equity=equity,
        free_cash=equity * 10,  # cash never binds here: the two backstops are under test
    )
    return buy(str(entry), str(stop), str(take)), ctx


@settings(max_examples=300, deadline=None)
@given(edges())
def test_the_binding_guard_takes_its_limit_and_refuses_one_lot_more(
    case: tuple[Intent, RiskContext],
) -> None:
    intent, ctx = case
    p, lot = ctx.profile, ctx.instrument.lot_size
    entry, stop = intent.entry_price, intent.stop_loss
    by_risk = _floor_lots(p.risk_per_trade * ctx.equity, entry - stop, lot)
    by_position = _floor_lots(p.max_position * ctx.equity, entry, lot)
    edge = min(by_risk, by_position)
    if edge <= 0:
        return  # not even one lot fits: the minimum-size rules decide, not the backstops
    # The risk guard runs first, so on a tie one lot more is refused for risk.
    code = RejectCode.RISK_PER_TRADE if by_risk <= by_position else RejectCode.MAX_POSITION

    at, over = _verdicts(edge, intent, ctx)
    assert at.approved, at.message
    assert over.code is code, over.message
    # The real sizer finds the same edge: the guards sit exactly where sizing stops.
    assert RiskEngine().check(intent, ctx).qty == edge
