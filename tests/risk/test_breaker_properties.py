"""Breaker properties over random equity paths, trade results, clock steps and resumes."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.domain.accounts import TradingState
from rampart.risk.breakers import DAY_MS, Breakers, BreakerState
from rampart.risk.profiles import DEFAULT_PROFILES, RiskProfile

D = Decimal
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
START = 19_000 * DAY_MS + 7 * 3_600_000

# Long jumps cross UTC days; short ones land on and around a one-hour cooldown's end.
steps = st.one_of(
    st.integers(0, DAY_MS // 2),
    st.sampled_from([0, 1, 60_000, 1_800_000, 3_599_999, 3_600_000, 3_600_001, DAY_MS]),
)
ops = st.tuples(
    # Weighted by repetition: mostly prices and trades, sometimes the clock, rarely a resume.
    st.sampled_from(["equity"] * 3 + ["trade"] * 3 + ["time"] * 2 + ["resume"]),
    steps,
    st.decimals(D("-50"), D("50"), places=2),
)


def assert_consistent(bs: BreakerState) -> None:
    if bs.state is ACTIVE:
        assert bs.halted_by == "" and bs.reason == ""
    elif bs.state is REDUCING:
        assert bs.halted_by == "cooldown" and bs.reason
    else:
        assert bs.halted_by in {"daily_loss", "max_drawdown"} and bs.reason


@settings(max_examples=250, deadline=None)
@given(
    profile=st.sampled_from(list(DEFAULT_PROFILES.values())),
    path=st.lists(ops, min_size=1, max_size=40),
)
def test_paths_never_leave_the_state_machine(
    profile: RiskProfile, path: list[tuple[str, int, Decimal]]
) -> None:
    breakers = Breakers(profile, currency="USDT")
    now, equity = START, D("10000")
    bs = breakers.new_state(equity, now)
    for kind, step, amount in path:
        now += step
        before = BreakerState.from_dict(bs.to_dict())
        if kind == "equity":
            equity = (equity * (1 + amount / 1000)).quantize(D("0.01"))  # ±5 % per update
            trips = breakers.on_equity(bs, equity, now)
        elif kind == "trade":
            trips = breakers.on_trade_closed(bs, amount, now)
        elif kind == "time":
            trips = breakers.on_time(bs, now)
        else:
            trips = breakers.resume(bs, now)

        assert_consistent(bs)
        # Trips describe every state change, in order, with a sentence.
        chain = [before.state] + [t.new_state for t in trips]
        assert [t.old_state for t in trips] == chain[:-1]
        assert chain[-1] is bs.state
        assert all(t.message.endswith(".") for t in trips)

        new_day = kind == "equity" and now // DAY_MS > before.day
        if before.state is HALTED and bs.state is not HALTED:
            assert kind == "resume" or (new_day and before.halted_by == "daily_loss")
        if before.state is REDUCING and bs.state is ACTIVE:
            assert kind == "resume" or (kind == "time" and now >= before.cooldown_until_ms)
        if kind == "time" and before.state is REDUCING:
            # A cooldown ends exactly at cooldown_until, never before, never later.
            assert (bs.state is ACTIVE) == (now >= before.cooldown_until_ms)

        if kind == "equity" and bs.state is not HALTED:
            # Not halted means neither limit is reached right now.
            start, peak = bs.day_start_equity, bs.peak_equity
            assert start - equity < profile.daily_loss * start
            assert peak - equity < profile.max_drawdown * peak
        assert BreakerState.from_dict(json.loads(json.dumps(bs.to_dict()))) == bs


@settings(max_examples=100, deadline=None)
@given(
    profile=st.sampled_from(list(DEFAULT_PROFILES.values())),
    at=st.integers(0, 10 * DAY_MS),
    probe=st.integers(-5_000_000, 5_000_000),
)
def test_cooldown_expires_exactly_at_cooldown_until(
    profile: RiskProfile, at: int, probe: int
) -> None:
    breakers = Breakers(profile)
    bs = breakers.new_state(D("1000"), at)
    trips = []
    for _ in range(profile.consecutive_losses):
        trips = breakers.on_trade_closed(bs, D("-1"), at)
    assert trips and bs.state is REDUCING
    until = bs.cooldown_until_ms
    assert until == at + profile.cooldown_ms
    when = max(until + probe, at)
    breakers.on_time(bs, when)
    assert (bs.state is ACTIVE) == (when >= until)


@settings(max_examples=250, deadline=None)
@given(
    profile=st.sampled_from(list(DEFAULT_PROFILES.values())),
    path=st.lists(ops, min_size=1, max_size=60),
)
def test_a_breaker_answers_the_same_whatever_it_saw_before(
    profile: RiskProfile, path: list[tuple[str, int, Decimal]]
) -> None:
    """One Breakers keeps the limits it worked out for the day's start and the peak (asked on
    every candle); a fresh Breakers for every call keeps nothing. Both must trip, release and
    hold state exactly alike, through new days, new peaks, falls and resumes."""
    kept = Breakers(profile, currency="USDT")
    now, equity = START, D("10000")
    bs = kept.new_state(equity, now)
    twin = BreakerState.from_dict(bs.to_dict())
    for kind, step, amount in path:
        now += step
        if kind == "resume":
            assert kept.resume(bs, now) == Breakers(profile, currency="USDT").resume(twin, now)
            continue
        if kind == "trade":
            kept.on_trade_closed(bs, amount, now)
            Breakers(profile, currency="USDT").on_trade_closed(twin, amount, now)
            continue
        equity = (equity * (1 + amount / 1000)).quantize(D("0.01"))  # ±5 % per update
        ours = kept.on_equity(bs, equity, now)
        assert ours == Breakers(profile, currency="USDT").on_equity(twin, equity, now)
        assert bs.to_dict() == twin.to_dict()
