"""Circuit breakers, one behaviour at a time."""

from __future__ import annotations

import json
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.risk.breakers import DAY_MS, Breakers, BreakerState, Trip
from rampart.risk.profiles import get_profile

D = Decimal
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
DAY0 = 19_000 * DAY_MS  # midnight UTC
HOUR = 3_600_000
MODERATE = get_profile("moderate")  # daily loss 4 %, drawdown 10 %, 3 losses, 1 h cooldown


def fresh(equity: str = "10000", at: int = DAY0) -> tuple[Breakers, BreakerState]:
    breakers = Breakers(MODERATE, currency="USDT")
    return breakers, breakers.new_state(D(equity), at)


def test_new_state_starts_active_with_the_day_and_peak_at_the_equity() -> None:
    _, bs = fresh("2500", DAY0 + 5 * HOUR)
    assert bs.state is ACTIVE and bs.halted_by == ""
    assert bs.day == 19_000
    assert bs.day_start_equity == bs.peak_equity == D("2500")


def test_daily_loss_halts_at_the_limit_and_says_how_much() -> None:
    breakers, bs = fresh()
    assert breakers.on_equity(bs, D("9601"), DAY0 + HOUR) == []
    assert bs.state is ACTIVE
    trips = breakers.on_equity(bs, D("9600"), DAY0 + 2 * HOUR)  # exactly 4 %
    assert [(t.breaker, t.old_state, t.new_state) for t in trips] == [
        ("daily_loss", ACTIVE, HALTED)
    ]
    assert bs.halted_by == "daily_loss" and bs.reason == trips[0].message
    assert "400 USDT (4 %)" in trips[0].message and "next UTC day" in trips[0].message
    assert breakers.on_equity(bs, D("9500"), DAY0 + 3 * HOUR) == []  # no repeated trips


def test_a_new_utc_day_lifts_a_daily_loss_halt_and_rebases_the_day() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("9550"), DAY0 + HOUR)
    assert bs.state is HALTED
    assert breakers.on_equity(bs, D("9550"), DAY0 + DAY_MS - 1) == []
    trips = breakers.on_equity(bs, D("9560"), DAY0 + DAY_MS)
    assert len(trips) == 1 and trips[0].released
    assert (trips[0].old_state, trips[0].new_state) == (HALTED, ACTIVE)
    assert bs.state is ACTIVE and bs.day == 19_001 and bs.day_start_equity == D("9560")
    assert "9,560 USDT" in trips[0].message


def test_max_drawdown_from_the_peak_halts_until_resume_not_a_new_day() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("12000"), DAY0 + HOUR)
    breakers.on_equity(bs, D("11000"), DAY0 + DAY_MS)  # a new day: 11,000 is the day start
    trips = breakers.on_equity(bs, D("10800"), DAY0 + DAY_MS + HOUR)  # 10 % below 12,000
    assert [t.breaker for t in trips] == ["max_drawdown"]
    assert "1,200 USDT (10 %) below its peak of 12,000 USDT" in trips[0].message
    for day in range(2, 5):
        assert breakers.on_equity(bs, D("11000"), DAY0 + day * DAY_MS) == []
        assert bs.state is HALTED and bs.halted_by == "max_drawdown"
    resumed = breakers.resume(bs, DAY0 + 5 * DAY_MS)
    assert [(t.breaker, t.new_state) for t in resumed] == [("resume", ACTIVE)]
    assert bs.peak_equity == bs.day_start_equity == D("11000")  # rebased, so no instant re-trip
    assert breakers.on_equity(bs, D("11000"), DAY0 + 5 * DAY_MS + 1) == []


def test_drawdown_escalates_a_daily_loss_halt_so_the_new_day_does_not_lift_it() -> None:
    breakers, bs = fresh()
    first = breakers.on_equity(bs, D("9500"), DAY0 + HOUR)
    assert [t.breaker for t in first] == ["daily_loss"]
    second = breakers.on_equity(bs, D("8900"), DAY0 + 2 * HOUR)
    assert [(t.breaker, t.old_state, t.new_state) for t in second] == [
        ("max_drawdown", HALTED, HALTED)
    ]
    breakers.on_equity(bs, D("8900"), DAY0 + DAY_MS)
    assert bs.state is HALTED and bs.halted_by == "max_drawdown"


def test_one_crash_can_trip_both_breakers_in_one_update() -> None:
    breakers, bs = fresh()
    trips = breakers.on_equity(bs, D("8000"), DAY0 + HOUR)
    assert [t.breaker for t in trips] == ["daily_loss", "max_drawdown"]
    assert trips[0].new_state == trips[1].old_state == HALTED
    assert bs.halted_by == "max_drawdown"


def test_consecutive_losses_start_a_cooldown_and_a_win_resets_the_count() -> None:
    breakers, bs = fresh()
    assert breakers.on_trade_closed(bs, D("-10"), DAY0) == []
    assert breakers.on_trade_closed(bs, D("-10"), DAY0 + 1) == []
    assert breakers.on_trade_closed(bs, D("25"), DAY0 + 2) == []  # a win: back to zero
    assert breakers.on_trade_closed(bs, D("0"), DAY0 + 3) == []  # break-even: no change
    breakers.on_trade_closed(bs, D("-1"), DAY0 + 4)
    breakers.on_trade_closed(bs, D("-1"), DAY0 + 5)
    assert bs.consecutive_losses == 2
    trips = breakers.on_trade_closed(bs, D("-1"), DAY0 + 6)
    assert [(t.breaker, t.old_state, t.new_state) for t in trips] == [
        ("cooldown", ACTIVE, REDUCING)
    ]
    assert bs.cooldown_until_ms == DAY0 + 6 + HOUR and bs.consecutive_losses == 0
    assert "3 losing trades in a row" in trips[0].message and "1 hour" in trips[0].message


def test_cooldown_ends_exactly_at_its_time() -> None:
    breakers, bs = fresh()
    for i in range(3):
        breakers.on_trade_closed(bs, D("-5"), DAY0 + i)
    until = bs.cooldown_until_ms
    assert breakers.on_time(bs, until - 1) == [] and bs.state is REDUCING
    trips = breakers.on_time(bs, until)
    assert [(t.old_state, t.new_state) for t in trips] == [(REDUCING, ACTIVE)]
    assert trips[0].released and bs.halted_by == ""


def test_cooldown_during_a_halt_keeps_the_halt_and_follows_it_after_the_new_day() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("9500"), DAY0 + 23 * HOUR)
    for i in range(3):
        trips = breakers.on_trade_closed(bs, D("-5"), DAY0 + 23 * HOUR + i)
    assert [(t.old_state, t.new_state) for t in trips] == [(HALTED, HALTED)]
    assert bs.halted_by == "daily_loss"
    lifted = breakers.on_equity(bs, D("9500"), DAY0 + DAY_MS)  # cooldown still runs
    assert [(t.old_state, t.new_state) for t in lifted] == [(HALTED, REDUCING)]
    assert bs.halted_by == "cooldown" and "cooldown still runs" in lifted[0].message
    assert breakers.on_time(bs, bs.cooldown_until_ms)[0].new_state is ACTIVE


def test_on_time_leaves_other_reductions_and_halts_alone() -> None:
    breakers, bs = fresh()
    bs.state, bs.halted_by = REDUCING, "rollout"
    assert breakers.on_time(bs, DAY0 + 10 * DAY_MS) == [] and bs.state is REDUCING
    bs.state, bs.halted_by = HALTED, "max_drawdown"
    assert breakers.on_time(bs, DAY0 + 10 * DAY_MS) == [] and bs.state is HALTED


def test_resume_of_an_active_account_changes_nothing() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("12000"), DAY0 + 1)
    assert breakers.resume(bs, DAY0 + 2) == []
    assert bs.peak_equity == D("12000")  # a pause/resume must not weaken the drawdown limit


def test_position_loss_limit_is_twice_the_risk_per_trade() -> None:
    check = Breakers.position_loss_exceeded
    assert not check(D("-200"), D("10000"), MODERATE)  # exactly 2 %: not beyond
    assert check(D("-200.01"), D("10000"), MODERATE)
    assert not check(D("500"), D("10000"), MODERATE)
    assert check(D("-1"), D("0"), MODERATE)
    assert not check(D("-40"), D("10000"), get_profile("aggressive"))


def test_state_round_trips_through_json() -> None:
    breakers, bs = fresh()
    breakers.on_equity(bs, D("9000.123456789"), DAY0 + HOUR)
    restored = BreakerState.from_dict(json.loads(json.dumps(bs.to_dict())))
    assert restored == bs and restored.state is HALTED


def test_trip_release_flag_orders_the_states() -> None:
    assert Trip("x", HALTED, REDUCING, "").released
    assert not Trip("x", ACTIVE, REDUCING, "").released
    assert not Trip("x", HALTED, HALTED, "").released


def test_an_unchanged_equity_is_judged_again_when_the_day_or_the_limits_change() -> None:
    # on_equity skips its comparisons for an equity it found clear a moment ago (most candles):
    # a new day, a new peak or a new day start must still be measured against.
    breakers, bs = fresh()
    assert breakers.on_equity(bs, D("9700"), DAY0 + HOUR) == []
    assert breakers.on_equity(bs, D("9700"), DAY0 + 2 * HOUR) == []
    bs.peak_equity = D("11000")  # a peak set elsewhere (a restored checkpoint): 11.8 % below
    trips = breakers.on_equity(bs, D("9700"), DAY0 + 3 * HOUR)
    assert [t.breaker for t in trips] == ["max_drawdown"]
    other, state = fresh()
    assert other.on_equity(state, D("9700"), DAY0 + HOUR) == []
    state.day_start_equity = D("10200")  # 4.9 % lost since this day start
    assert [t.breaker for t in other.on_equity(state, D("9700"), DAY0 + 2 * HOUR)] == ["daily_loss"]
    again, kept = fresh()
    assert again.on_equity(kept, D("9700"), DAY0 + HOUR) == []
    assert again.on_equity(kept, D("9700"), DAY0 + DAY_MS) == []
    assert kept.day == 19_001 and kept.day_start_equity == D("9700")
