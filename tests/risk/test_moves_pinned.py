"""The risk engine's rules for changing an open position, pinned on every built-in profile: a
stop loosened within the profile's widest stop but past its risk per trade is refused (the
aggressive profile once let 2.45 % ride where 2 % is promised), an addition waits while an entry
for the symbol is still buying, and an addition below the stop is refused. Each refusal has a
control beside it — the same change made safe is approved — so a test fails when the check is
removed, not merely when the sentence changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.intents import IntentAction
from rampart.domain.orders import Side
from rampart.risk.checks import RiskEngine
from rampart.risk.codes import RejectCode
from rampart.risk.profiles import DEFAULT_PROFILES

from .helpers import buy, make_ctx

D = Decimal
ENGINE = RiskEngine()
PROFILES = sorted(DEFAULT_PROFILES)
HELD = {"position_price": D(100), "position_stop": D(99), "position_take": D(110)}


def _loosened_to_widest(profile: str, risk_share: Decimal) -> tuple[object, object]:
    """A long at 100 with its stop at 99, moved down to the profile's widest stop, holding as
    much as puts ``risk_share`` of the profile's risk per trade at that stop."""
    p = DEFAULT_PROFILES[profile]
    stop = D(100) * (1 - p.max_stop)
    limit = p.risk_per_trade * D(10_000)
    qty = (limit * risk_share / (D(100) - stop)).quantize(D("0.00001"))
    ctx = make_ctx(profile_name=profile, position_qty=qty, open_positions=1, **HELD)
    move = buy(stop=f"{stop:f}", take="0", action=IntentAction.MOVE, side=Side.SELL)
    return move, ctx


@pytest.mark.parametrize("profile", PROFILES)
def test_a_stop_loosened_past_the_risk_per_trade_is_refused(profile: str) -> None:
    move, ctx = _loosened_to_widest(profile, D("1.2"))
    verdict = ENGINE.check(move, ctx)  # type: ignore[arg-type]
    assert verdict.code is RejectCode.STOP_LOOSENED, verdict
    assert "would risk" in verdict.message and "of the account" in verdict.message
    # Its distance alone is within the profile: the same move on a smaller position passes.
    smaller, ctx = _loosened_to_widest(profile, D("0.9"))
    assert ENGINE.check(smaller, ctx).approved  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", PROFILES)
def test_an_addition_waits_while_an_entry_is_still_buying(profile: str) -> None:
    add = buy(entry="100", stop="99", take="110", action=IntentAction.ADD)
    held = {"position_qty": D("0.5"), "open_positions": 1, **HELD}
    verdict = ENGINE.check(add, make_ctx(profile_name=profile, working_qty=D("0.2"), **held))
    assert verdict.code is RejectCode.ENTRY_WORKING, verdict
    assert "still working; an addition waits" in verdict.message
    assert ENGINE.check(add, make_ctx(profile_name=profile, **held)).approved


@pytest.mark.parametrize("profile", PROFILES)
def test_an_addition_below_the_stop_is_refused(profile: str) -> None:
    held = make_ctx(profile_name=profile, position_qty=D("0.5"), open_positions=1, **HELD)
    below = buy(entry="98.5", stop="99", take="110", action=IntentAction.ADD)
    verdict = ENGINE.check(below, held)
    assert verdict.code is RejectCode.BRACKET_SIDE, verdict
    assert "must lie between the position's stop-loss" in verdict.message
    inside = buy(entry="99.5", stop="99", take="110", action=IntentAction.ADD)
    assert ENGINE.check(inside, held).approved
