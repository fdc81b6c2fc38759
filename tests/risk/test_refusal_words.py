"""The whole sentence of each refusal at its edges: the rollout stage's bounds, the bracket's
limits, a figure that rounds to its limit, and the restriction a gate quotes."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from rampart.domain.accounts import TradingState
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.domain.stages import Stage
from rampart.risk.checks import RiskEngine, RiskVerdict
from rampart.risk.codes import RejectCode
from rampart.risk.restrictions import Restriction, kill_switch, paused, venue_report

from .helpers import NOW, buy, close, make_ctx

D = Decimal
ENGINE = RiskEngine()


def check(intent: Intent | None = None, **ctx: Any) -> RiskVerdict:
    return ENGINE.check(intent or buy(), make_ctx(**ctx))


def said(verdict: RiskVerdict) -> tuple[RejectCode | None, str]:
    return verdict.code, verdict.message


def test_the_stage_names_an_account_without_an_owner() -> None:
    invited = Stage(name="internal", users=frozenset({"bob"}))
    assert said(check(owner="", stage=invited)) == (
        RejectCode.STAGE_USER,
        "The 'internal' rollout stage is open to invited users only, and this account "
        "(no owner) is not on the list yet.",
    )


def test_the_stage_capital_bounds_are_inclusive_and_said_as_set() -> None:
    both = Stage(name="pilot", min_capital=D("100"), max_capital=D("500"))
    assert check(stage=both, capital=D("100")).approved
    assert check(stage=both, capital=D("500")).approved
    low = Stage(name="pilot", min_capital=D("100"))
    assert said(check(stage=low, capital=D("99.99"))) == (
        RejectCode.STAGE_CAPITAL,
        "The 'pilot' rollout stage allows at least 100 USDT of capital per account; this "
        "account has 99.99 USDT.",
    )
    high = Stage(name="pilot", max_capital=D("500"))
    assert said(check(stage=high, capital=D("500.01"))) == (
        RejectCode.STAGE_CAPITAL,
        "The 'pilot' rollout stage allows at most 500 USDT of capital per account; this "
        "account has 500.01 USDT.",
    )


def test_the_stage_profiles_are_named_in_full() -> None:
    two = Stage(name="pilot", profiles=frozenset({"moderate", "aggressive"}))
    assert check(stage=two).approved
    assert said(check(stage=two, profile_name="conservative")) == (
        RejectCode.STAGE_PROFILE,
        "The 'pilot' rollout stage allows only the aggressive and moderate profiles; this "
        "account uses conservative.",
    )
    one = Stage(name="pilot", profiles=frozenset({"conservative"}))
    assert said(check(stage=one)) == (
        RejectCode.STAGE_PROFILE,
        "The 'pilot' rollout stage allows only the conservative profile; this account uses "
        "moderate.",
    )


def test_stale_and_missing_prices_in_words() -> None:
    assert said(check(feed_stale=True)) == (
        RejectCode.STALE_DATA,
        "The BTC/USDT price feed has stopped updating, so no position is opened until it is back.",
    )
    assert said(check(data_ts=0)) == (
        RejectCode.STALE_DATA,
        "There is no BTC/USDT price yet, so no position is opened without fresh prices.",
    )
    # A candle from the first millisecond is a price, only a very old one.
    ancient = check(data_ts=1)
    assert ancient.code is RejectCode.STALE_DATA
    assert ancient.message.startswith("The latest BTC/USDT price is ")


def test_an_entry_at_the_price_ceiling_is_refused() -> None:
    top = "1000000000000000"
    assert said(check(buy(entry=top, stop="1", take="2"))) == (
        RejectCode.BAD_PRICE,
        "The entry price must be above zero and below 1,000,000,000,000,000; got 1000000000000000.",
    )


def test_a_size_of_zero_is_refused_in_words() -> None:
    assert said(check(buy(size_hint=D("0")))) == (
        RejectCode.BAD_SIZE,
        "The size must be a fraction above 0 and at most 1 of the largest size the profile "
        "allows; got 0.",
    )


def test_a_missing_exit_is_named() -> None:
    assert said(check(buy(take="0"))) == (
        RejectCode.NO_BRACKET,
        "Every new position needs a stop-loss and a take-profit; this one has no take-profit.",
    )
    assert said(check(buy(stop="0", take="0"))) == (
        RejectCode.NO_BRACKET,
        "Every new position needs a stop-loss and a take-profit; this one has no stop-loss "
        "and no take-profit.",
    )


def test_exits_at_the_entry_are_on_the_wrong_side() -> None:
    at_stop = said(check(buy(stop="100")))
    assert at_stop == (
        RejectCode.BRACKET_SIDE,
        "For a buy the stop-loss must be below the entry and the take-profit above it; here "
        "the stop-loss is 100 USDT, the entry 100 USDT and the take-profit 105 USDT.",
    )
    assert check(buy(take="100")).code is RejectCode.BRACKET_SIDE


def test_an_exit_off_the_tick_is_named() -> None:
    assert said(check(buy(stop="98.005")))[1].startswith("The stop-loss price of 98.005 USDT")
    assert said(check(buy(take="105.005"))) == (
        RejectCode.BAD_TICK,
        "The take-profit price of 105.005 USDT is not a multiple of the BTC/USDT price step "
        "of 0.01 USDT; 105.01 USDT would be.",
    )


def test_a_stop_distance_that_rounds_to_its_limit_is_shown_apart_from_it() -> None:
    assert said(check(buy(entry="100000", stop="99001", take="110000"))) == (
        RejectCode.STOP_TOO_TIGHT,
        "The stop-loss is 0.999 % below the entry; the moderate profile needs between 1 % and 5 %.",
    )
    assert said(check(buy(entry="100000", stop="94999", take="120000"))) == (
        RejectCode.STOP_TOO_WIDE,
        "The stop-loss is 5.001 % below the entry; the moderate profile needs between 1 % and 5 %.",
    )


def test_a_reward_that_rounds_to_its_minimum_is_shown_apart_from_it() -> None:
    assert said(check(buy(take="102.39"))) == (
        RejectCode.MIN_REWARD_RISK,
        "The take-profit would gain only 1.195 times what the stop-loss would lose "
        "(2.39 USDT against 2 USDT per BTC); the moderate profile needs at least 1.2 times.",
    )


def test_an_account_worth_nothing_is_told_so() -> None:
    assert said(check(equity=D("0"))) == (
        RejectCode.INSUFFICIENT_FUNDS,
        "The account is worth 0 USDT, so there is nothing left to risk on a new position.",
    )


def test_an_approval_names_every_price_with_its_currency() -> None:
    verdict = check()
    assert verdict.approved
    assert verdict.message == (
        "Approved: buy 20 BTC near 100 USDT, risking 40 USDT (0.4 % of the account) with a "
        "stop-loss at 98 USDT and a take-profit at 105 USDT."
    )


def test_an_order_the_cash_cannot_pay_names_its_cost() -> None:
    verdict = RiskEngine(sizer=lambda i, c: D("1")).check(buy(), make_ctx(free_cash=D("100")))
    assert said(verdict) == (
        RejectCode.INSUFFICIENT_FUNDS,
        "This order would cost 100.1 USDT with fees, but only 100 USDT is free.",
    )


def test_the_largest_position_with_nothing_held_says_only_the_order() -> None:
    verdict = RiskEngine(sizer=lambda i, c: D("21")).check(buy(), make_ctx())
    assert said(verdict) == (
        RejectCode.MAX_POSITION,
        "This position would be worth 2,100 USDT (21 % of the account); the moderate profile "
        "allows at most 2,000 USDT (20 %).",
    )


LOTS = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.001"), D("1"), D("5"))
FREE = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.001"), D("0"), D("0"))


def test_an_order_of_exactly_the_minimum_value_passes() -> None:
    verdict = check(free_cash=D("5.005"))
    assert (verdict.approved, verdict.qty) == (True, D("0.05"))


def test_a_venue_without_minimums_still_never_approves_nothing() -> None:
    verdict = check(instrument=FREE, free_cash=D("0.05"))
    assert said(verdict) == (
        RejectCode.INSUFFICIENT_FUNDS,
        "Only 0.05 USDT is free, not enough for the smallest BTC/USDT order of about 0 USDT "
        "plus fees.",
    )
    by_risk = check(instrument=FREE, equity=D("0.001"), free_cash=D("100"))
    assert said(by_risk) == (
        RejectCode.BELOW_MIN_QTY,
        "With 0.001 USDT in the account, the moderate profile allows buying at most "
        "0.000002 BTC, below the smallest BTC/USDT order of 0 BTC.",
    )


def test_below_the_smallest_quantity_names_the_size_hint() -> None:
    few = check(buy(size_hint=D("0.5")), instrument=LOTS, equity=D("100"), free_cash=D("100"))
    assert said(few) == (
        RejectCode.BELOW_MIN_QTY,
        "With 100 USDT in the account, the moderate profile allows buying at most 0.1 BTC at "
        "50 % of full size, below the smallest BTC/USDT order of 1 BTC.",
    )
    full = check(instrument=LOTS, equity=D("100"), free_cash=D("100"))
    assert said(full) == (
        RejectCode.BELOW_MIN_QTY,
        "With 100 USDT in the account, the moderate profile allows buying at most 0.2 BTC, "
        "below the smallest BTC/USDT order of 1 BTC.",
    )


def test_exactly_the_smallest_quantity_below_the_minimum_value_names_the_value() -> None:
    cheap = Instrument("X/USDT", "X", "USDT", D("0.01"), D("1"), D("1"), D("5"))
    verdict = check(
        buy(entry="4", stop="3.9", take="4.5", symbol="X/USDT"),
        instrument=cheap,
        equity=D("20"),
        free_cash=D("100"),
    )
    assert said(verdict) == (
        RejectCode.BELOW_MIN_NOTIONAL,
        "With 20 USDT in the account, the moderate profile allows buying at most 4 USDT of "
        "X/USDT, below the venue's minimum order of 5 USDT.",
    )


def test_the_gates_quote_the_restriction_behind_them() -> None:
    kill = kill_switch("ops", "exchange outage")
    pause = paused("ops", "checking", owner="alice")
    report = venue_report("odd fill")
    halt = Restriction("max_drawdown", "halted", "down 12 %", needs_operator=True)
    assert said(check(global_kill=True, restrictions=(pause, kill))) == (
        RejectCode.KILL_SWITCH,
        f"The kill switch is on: no new positions until an operator releases it. {kill.text}",
    )
    assert said(check(close(), global_kill=True, position_qty=D("1"))) == (
        RejectCode.KILL_SWITCH,
        "The kill switch is on: no trading until an operator releases it; the position keeps "
        "its stop-loss and take-profit.",
    )
    assert said(check(paused=True, restrictions=(halt, pause))) == (
        RejectCode.ACCOUNT_PAUSED,
        f"Trading is paused for this account. {pause.text}",
    )
    for cause in ("position_loss", "kill_on_position_loss"):
        system = Restriction(cause, "paused", "a position lost too much", by="system")
        assert check(paused=True, restrictions=(report, system)).message.endswith(system.text)
    assert said(check(state=TradingState.HALTED, restrictions=(report, halt))) == (
        RejectCode.ACCOUNT_HALTED,
        f"Trading is halted for this account. {halt.text}",
    )
    assert said(check(state=TradingState.HALTED, restrictions=(report,))) == (
        RejectCode.ACCOUNT_HALTED,
        "Trading is halted for this account because a loss limit was reached; it resumes on "
        "the next UTC day after a daily-loss halt, otherwise when an operator resumes it.",
    )
    assert said(check(state=TradingState.REDUCING, restrictions=(halt, report))) == (
        RejectCode.ACCOUNT_REDUCING,
        "This account is only closing positions for now, so it cannot open a new one. "
        f"{report.text}",
    )
    assert check(state=TradingState.REDUCING, cooldown_until_ms=NOW).code is (
        RejectCode.ACCOUNT_REDUCING
    )


def test_a_cooldown_names_its_end_in_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        verdict = check(cooldown_until_ms=NOW + 90 * 60_000, state=TradingState.REDUCING)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert said(verdict) == (
        RejectCode.COOLDOWN,
        "After 3 losing trades in a row this account is cooling down: new positions are "
        "allowed again in 1.5 hours (at 23:43 UTC).",
    )
