"""Times an investor reads on a simulated feed: a /demo investor saw the replay's
dates (2024-01-01) for a trade made a minute ago. On a FeedClock they are shown at the wall
time they happened; on an exchange feed, business time is wall time and is shown as it is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rampart import clock as clock_mod
from rampart.clock import FeedClock, SimClock
from rampart.telegram import text

REPLAY_START = 1_704_067_200_000  # 2024-01-01 00:00 UTC, the bundled candles' first
WALL_START = 1_795_000_000_000  # 2026-11-18, "today"
SPEED = 300


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    clock_mod.show_times_of(None)


def _run(seconds: int) -> tuple[FeedClock, SimClock, SimClock]:
    """A replay at 300x for ``seconds`` of wall time, its loops sleeping once a second."""
    market, wall = SimClock(REPLAY_START), SimClock(WALL_START)
    clock = FeedClock(market, wall)
    for _ in range(seconds):
        clock._anchor()  # what each loop's sleep does
        wall.advance(1_000)
        market.advance(SPEED * 1_000)
    return clock, market, wall


def test_a_replays_times_are_shown_at_the_wall_time_they_happened() -> None:
    clock, market, wall = _run(600)
    clock_mod.show_times_of(clock)
    a_minute_ago = market.now_ms() - 60 * SPEED * 1_000  # business time of a minute ago
    assert clock_mod.shown_ms(a_minute_ago) == wall.now_ms() - 60_000
    assert text.when(a_minute_ago) != text.ms_to_datetime(a_minute_ago).strftime("%m-%d %H:%M")
    assert not text.when(a_minute_ago).startswith("01-01")  # not the replay's date
    # Ahead (a hold until some business time): at the feed's pace.
    in_an_hour = market.now_ms() + 3_600 * SPEED * 1_000
    assert clock_mod.shown_ms(in_an_hour) == wall.now_ms() + 3_600_000
    # Before the first moment seen: at the pace since then.
    assert clock_mod.shown_ms(REPLAY_START - SPEED * 1_000) == WALL_START - 1_000


def test_on_an_exchange_feed_times_are_shown_as_they_are() -> None:
    clock_mod.show_times_of(SimClock(REPLAY_START))  # no wall axis: business time is wall time
    assert clock_mod.shown_ms(REPLAY_START) == REPLAY_START
    assert text.when(REPLAY_START) == "01-01 00:00"


def test_the_anchors_stay_bounded_over_a_long_run() -> None:
    clock, _, _ = _run(5_000)
    assert len(clock._anchors) <= 2_048


def test_before_any_candle_nothing_is_translated() -> None:
    market, wall = SimClock(0), SimClock(WALL_START)
    clock = FeedClock(market, wall)
    assert clock.wall_of(REPLAY_START) == REPLAY_START
    market.set(REPLAY_START)
    assert clock.wall_of(REPLAY_START) == WALL_START


def test_a_breakers_sentence_on_a_demo_names_the_wall_time_it_lifts() -> None:
    """A losing-streak cooldown on the demo read "resumes by itself at 2024-01-02 00:00 UTC":
    the sentence every front shows is built in the risk layer, which now reads the axis too."""
    from rampart.risk.restrictions import COOLDOWN, REDUCING, Restriction

    clock, market, wall = _run(600)
    ends = market.now_ms() + 60 * SPEED * 1_000  # a minute from now, at the feed's pace
    cooldown = Restriction(COOLDOWN, REDUCING, "lost 3 trades in a row", resumes_at=ends)
    assert "2024-01" in cooldown.text  # shown as it is without a wall axis
    clock_mod.show_times_of(clock)
    expected = text.ms_to_datetime(wall.now_ms() + 60_000).strftime("%Y-%m-%d %H:%M")
    assert f"resumes by itself at {expected} UTC" in cooldown.text
    assert "2024-" not in cooldown.text


def _trade(closed_at: int, pnl: str) -> object:
    from decimal import Decimal

    from rampart.domain.positions import ClosedTrade

    d = Decimal(pnl)
    return ClosedTrade(
        "a", "BTC/USDT", "trend", f"c{closed_at}", closed_at - 1, closed_at, Decimal(1),
        Decimal(100), Decimal(100) + d, d, Decimal(0), d, "take_profit", Decimal(99),
        Decimal(102), Decimal(1),
    )  # fmt: skip


def test_an_investors_days_on_a_demo_are_the_days_they_lived() -> None:
    """/daily on the demo grouped by the replay's days: two trades closed minutes apart today
    were listed on 2024-01-01 and 2024-01-02. On the wall axis both are today."""
    from rampart.operator.profit import summarize

    clock, market, wall = _run(600)  # 10 wall minutes = 50 replay hours
    now = market.now_ms()
    early, late = now - 2 * 86_400_000, now - 60_000  # two replay days apart
    trades = [_trade(early, "5"), _trade(late, "-2")]
    created = REPLAY_START
    assert len([d for d in summarize(trades, now, created).days if d.trades]) == 2
    clock_mod.show_times_of(clock)
    lived = summarize(trades, now, created)  # type: ignore[arg-type]
    assert [(d.trades, str(d.realized_pnl)) for d in lived.days] == [(2, "3")]
    assert str(lived.realized_today) == "3"
    assert lived.best is not None and lived.best.closed_at == early  # trades kept as they are
