"""The one reason every front shows: what each breaker and control says, the figures it keeps,
and that it survives a checkpoint (also one written before restrictions were kept)."""

from __future__ import annotations

import json
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.risk.breakers import DAY_MS, Breakers, BreakerState
from rampart.risk.profiles import get_profile
from rampart.risk.restrictions import Restriction, kill_switch, paused, position_loss, why

D = Decimal
DAY0 = 19_000 * DAY_MS  # 2022-01-08, midnight UTC
HOUR = 3_600_000
MODERATE = get_profile("moderate")  # daily loss 4 %, drawdown 10 %, 3 losses, 1 h cooldown


def _tripped(equity: str, at: int = DAY0 + HOUR) -> BreakerState:
    breakers = Breakers(MODERATE, currency="USDT")
    state = breakers.new_state(D("10000"), DAY0)
    breakers.on_equity(state, D(equity), at)
    return state


def test_each_breaker_names_its_figures_and_what_lifts_it() -> None:
    daily = _tripped("9550").restriction
    assert daily is not None and daily.cause == "daily_loss"
    assert (daily.value, daily.threshold, daily.needs_operator) == (D("0.045"), D("0.04"), False)
    assert daily.resumes_at == DAY0 + DAY_MS
    assert daily.text == (
        "Daily loss breaker: lost 450 USDT (4.5 %) today (moderate profile), limit 4 %; "
        "resumes by itself at 2022-01-09 00:00 UTC, the next UTC day."
    )
    drawdown = _tripped("8500").restriction
    assert drawdown is not None and drawdown.cause == "max_drawdown"
    assert drawdown.needs_operator and drawdown.resumes_at is None
    assert drawdown.text == (
        "Max drawdown breaker: equity 1,500 USDT (15 %) below its peak of 10,000 USDT "
        "(moderate profile), limit 10 %; needs the operator to resume it (it does not resume "
        "by itself)."
    )
    breakers = Breakers(MODERATE, currency="USDT")
    state = breakers.new_state(D("10000"), DAY0)
    for i in range(3):
        breakers.on_trade_closed(state, D("-5"), DAY0 + i)
    cooldown = state.restriction
    assert cooldown is not None and cooldown.cause == "cooldown"
    assert (cooldown.value, cooldown.threshold, cooldown.unit) == (D(3), D(3), "trades")
    assert cooldown.resumes_at == DAY0 + 2 + HOUR
    assert "resumes by itself at 2022-01-08 01:00 UTC, after a wait of 1 hour" in cooldown.text
    assert state.reason == cooldown.text


def test_a_pause_says_who_lifts_it() -> None:
    by_operator = paused("ops", "checking the exchange key", owner="alice")
    assert by_operator.needs_operator
    assert by_operator.text == (
        "Paused (ops): checking the exchange key; needs the operator to resume it (it does not "
        "resume by itself)."
    )
    own = paused("alice", "holiday", owner="alice")
    assert not own.needs_operator and "/resume" in own.text
    kill = kill_switch("ops", "exchange outage")
    assert kill.text.startswith("Kill switch (ops): exchange outage; needs the operator to release")
    lost = position_loss("BTC/USDT", D("600"), D("10000"), MODERATE, "USDT", DAY0)
    assert lost.value == D("0.06") and lost.threshold == MODERATE.position_loss_limit
    assert "BTC/USDT position lost 600 USDT (6 % of equity)" in lost.text
    assert why([kill, by_operator]) == f"{kill.text} {by_operator.text}"
    assert why([]) == ""


def test_a_restriction_survives_a_checkpoint_and_old_ones_are_read() -> None:
    state = _tripped("8500")
    again = BreakerState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.restriction == state.restriction and again.reason == state.reason

    # Written before restrictions were kept: the sentence, and what lifts it, from the breaker.
    old = state.to_dict()
    del old["restriction"]
    legacy = BreakerState.from_dict(old).restriction
    assert legacy is not None and legacy.needs_operator and legacy.cause == "max_drawdown"
    daily = _tripped("9550").to_dict()
    del daily["restriction"]
    lifted = BreakerState.from_dict(daily).restriction
    assert lifted is not None and lifted.resumes_at == DAY0 + DAY_MS
    active = Breakers(MODERATE).new_state(D("10000"), DAY0).to_dict()
    del active["restriction"]
    assert BreakerState.from_dict(active).restriction is None
    assert BreakerState.from_dict(active).state is TradingState.ACTIVE
    assert Restriction.from_dict(state.restriction.to_dict()) == state.restriction  # type: ignore[union-attr]
