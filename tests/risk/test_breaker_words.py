"""What a breaker hands the fronts: each trip's restriction and sentence, checkpoints written
before restrictions were kept, and the edges of an account worth nothing."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.risk.breakers import DAY_MS, Breakers, BreakerState
from rampart.risk.profiles import get_profile
from rampart.risk.restrictions import Restriction

D = Decimal
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
DAY0 = 19_000 * DAY_MS  # 2022-01-08, midnight UTC
HOUR = 3_600_000
MODERATE = get_profile("moderate")  # daily loss 4 %, drawdown 10 %, 3 losses, 1 h cooldown


def fresh(equity: str = "10000") -> tuple[Breakers, BreakerState]:
    breakers = Breakers(MODERATE, currency="USDT")
    return breakers, breakers.new_state(D(equity), DAY0)


def _old_checkpoint(state: TradingState, halted_by: str, reason: str) -> dict[str, object]:
    """A checkpoint as written before restrictions (and the last equity) were kept."""
    return {
        "state": state.value,
        "day": 19_000,
        "day_start_equity": "10000",
        "peak_equity": "12000",
        "consecutive_losses": 0,
        "cooldown_until_ms": DAY0 + 2 * HOUR,
        "halted_by": halted_by,
        "reason": reason,
    }


def test_old_checkpoints_keep_their_sentence_and_what_lifts_each_breaker() -> None:
    cases = {
        ("daily_loss", HALTED): Restriction(
            "daily_loss", "halted", "lost a lot today", resumes_at=DAY0 + DAY_MS
        ),
        ("cooldown", REDUCING): Restriction(
            "cooldown", "reducing", "lost a lot today", resumes_at=DAY0 + 2 * HOUR
        ),
        ("max_drawdown", HALTED): Restriction(
            "max_drawdown", "halted", "lost a lot today", needs_operator=True
        ),
        ("rollout", REDUCING): Restriction(
            "rollout", "reducing", "lost a lot today", lifts="lifts once its cause is gone"
        ),
        ("rollout", HALTED): Restriction(
            "rollout", "halted", "lost a lot today", lifts="lifts once its cause is gone"
        ),
    }
    for (cause, state), expected in cases.items():
        restored = BreakerState.from_dict(_old_checkpoint(state, cause, "lost a lot today"))
        assert restored.state is state
        assert restored.restriction == expected, cause
    cooldown = BreakerState.from_dict(_old_checkpoint(REDUCING, "cooldown", "3 in a row"))
    assert cooldown.restriction is not None
    assert cooldown.restriction.text == (
        "Losing-streak cooldown: 3 in a row; resumes by itself at 2022-01-08 02:00 UTC."
    )
    other = BreakerState.from_dict(_old_checkpoint(REDUCING, "rollout", "not admitted"))
    assert other.restriction is not None
    assert other.restriction.text == "Rollout: not admitted; lifts once its cause is gone."


def test_an_old_checkpoint_without_the_last_equity_resumes_from_the_peak() -> None:
    breakers = Breakers(MODERATE, currency="USDT")
    bs = BreakerState.from_dict(_old_checkpoint(HALTED, "max_drawdown", "down 10 %"))
    assert bs.last_equity == D("12000")
    trips = breakers.resume(bs, DAY0 + HOUR)
    assert trips[0].message == (
        "Trading was resumed after the max drawdown stop; loss limits now count from 12,000 USDT."
    )


def test_each_trip_carries_the_restriction_the_account_now_has() -> None:
    breakers, bs = fresh()
    daily = breakers.on_equity(bs, D("9590"), DAY0 + HOUR)
    assert daily[0].restriction == bs.restriction
    assert bs.restriction is not None and bs.restriction.since == 0
    drawdown = breakers.on_equity(bs, D("8900"), DAY0 + 2 * HOUR)
    assert drawdown[0].restriction == bs.restriction
    assert drawdown[0].restriction == Restriction(
        "max_drawdown",
        "halted",
        "equity 1,100 USDT (11 %) below its peak of 10,000 USDT (moderate profile)",
        value=D("0.11"),
        threshold=D("0.1"),
        unit="fraction",
        needs_operator=True,
    )


def test_a_loss_just_past_a_limit_is_not_printed_as_the_limit() -> None:
    breakers, bs = fresh()
    daily = breakers.on_equity(bs, D("9599.99"), DAY0 + HOUR)
    assert "lost 400.01 USDT (4.0001 %) today" in daily[0].message
    breakers, bs = fresh()
    drawdown = breakers.on_equity(bs, D("8999.99"), DAY0 + DAY_MS + HOUR)
    assert "equity 1,000.01 USDT (10.0001 %) below its peak" in drawdown[-1].message


def test_a_drawdown_halt_is_not_tripped_again_by_a_further_fall() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("12000"), DAY0 + HOUR)
    first = breakers.on_equity(bs, D("10700"), DAY0 + DAY_MS + HOUR)
    assert [t.breaker for t in first] == ["max_drawdown"]
    assert breakers.on_equity(bs, D("10000"), DAY0 + DAY_MS + 2 * HOUR) == []
    assert bs.halted_by == "max_drawdown"


def test_an_account_worth_nothing_trips_no_breaker() -> None:
    breakers, bs = fresh("0")
    assert breakers.on_equity(bs, D("0"), DAY0 + HOUR) == []
    assert bs.state is ACTIVE
    assert not Breakers.position_loss_exceeded(D("0"), D("0"), MODERATE)
    assert not Breakers.position_loss_exceeded(D("0"), D("-5"), MODERATE)


def test_the_end_of_a_cooldown_is_said_by_the_cooldown() -> None:
    breakers, bs = fresh()
    for i in range(3):
        breakers.on_trade_closed(bs, D("-5"), DAY0 + i)
    started = bs.restriction
    assert started is not None and started.since == DAY0 + 2
    ended = breakers.on_time(bs, bs.cooldown_until_ms)
    assert [(t.breaker, t.message, t.restriction) for t in ended] == [
        (
            "cooldown",
            "The cooldown after a run of losing trades is over: new positions are allowed again.",
            None,
        )
    ]


def test_a_new_day_under_a_running_cooldown_hands_on_the_cooldown() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("9500"), DAY0 + 23 * HOUR)
    for i in range(3):
        breakers.on_trade_closed(bs, D("-5"), DAY0 + 23 * HOUR + i)
    lifted = breakers.on_equity(bs, D("9500"), DAY0 + DAY_MS)
    assert lifted[0].restriction is not None
    assert lifted[0].restriction == bs.restriction
    assert lifted[0].restriction.cause == "cooldown"


def test_a_streak_counted_under_a_looser_profile_is_told_as_it_was() -> None:
    # Five losses in a row counted while the account allowed more, then the profile became
    # moderate (three): the next loss starts the cooldown and says how many there were.
    breakers = Breakers(MODERATE, currency="USDT")
    bs = breakers.new_state(D("10000"), DAY0)
    bs.consecutive_losses = 4
    trips = breakers.on_trade_closed(bs, D("-5"), DAY0 + HOUR)
    restriction = trips[0].restriction
    assert restriction is not None
    assert restriction.value == D(5) and restriction.threshold == D(3)
    assert restriction.measured == "5 losing trades in a row"


def test_a_breaker_without_a_currency_gives_bare_amounts() -> None:
    breakers = Breakers(MODERATE)
    bs = breakers.new_state(D("10000"), DAY0)
    trips = breakers.on_equity(bs, D("9550"), DAY0 + HOUR)
    assert trips[0].message.startswith("Daily loss breaker: lost 450 (4.5 %) today (moderate")


def test_a_resume_before_any_equity_update_counts_from_the_opening_equity() -> None:
    breakers, bs = fresh()
    for i in range(3):
        breakers.on_trade_closed(bs, D("-5"), DAY0 + i)
    resumed = breakers.resume(bs, DAY0 + HOUR)
    assert resumed[0].message.endswith("loss limits now count from 10,000 USDT.")
    assert bs.peak_equity == bs.day_start_equity == D("10000")


def test_a_break_even_trade_does_not_end_a_losing_streak() -> None:
    breakers, bs = fresh()
    breakers.on_trade_closed(bs, D("-5"), DAY0)
    breakers.on_trade_closed(bs, D("-5"), DAY0 + 1)
    assert breakers.on_trade_closed(bs, D("0"), DAY0 + 2) == []
    trips = breakers.on_trade_closed(bs, D("-5"), DAY0 + 3)
    assert [(t.breaker, t.new_state) for t in trips] == [("cooldown", REDUCING)]


def test_a_streak_while_reducing_for_another_cause_keeps_that_cause() -> None:
    breakers, bs = fresh()
    report = Restriction("venue_report", "reducing", "odd fill", needs_operator=True)
    bs.restrict(REDUCING, report)
    for i in range(2):
        breakers.on_trade_closed(bs, D("-5"), DAY0 + i)
    trips = breakers.on_trade_closed(bs, D("-5"), DAY0 + 2)
    assert [(t.breaker, t.old_state, t.new_state, t.restriction) for t in trips] == [
        ("cooldown", REDUCING, REDUCING, None)
    ]
    assert trips[0].message.startswith("Losing-streak cooldown: 3 losing trades in a row")
    assert bs.restriction == report and bs.halted_by == "venue_report"
    assert bs.cooldown_until_ms == DAY0 + 2 + HOUR


def test_a_second_streak_during_a_cooldown_extends_it() -> None:
    breakers, bs = fresh()
    for i in range(3):
        breakers.on_trade_closed(bs, D("-5"), DAY0 + i)
    for i in range(3):
        trips = breakers.on_trade_closed(bs, D("-5"), DAY0 + HOUR // 2 + i)
    later = DAY0 + HOUR // 2 + 2 + HOUR
    assert [(t.old_state, t.new_state) for t in trips] == [(REDUCING, REDUCING)]
    assert trips[0].restriction == bs.restriction
    assert bs.restriction is not None and bs.restriction.resumes_at == later
    assert breakers.on_time(bs, DAY0 + 2 + HOUR) == []
    assert breakers.on_time(bs, later)[0].new_state is ACTIVE
