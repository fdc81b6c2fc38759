"""Times an investor reads on a simulated feed (issue 56): a /demo investor saw the replay's
dates (2024-01-01) for a trade made a minute ago. On a FeedClock they are shown at the wall
time they happened; on an exchange feed, business time is wall time and is shown as it is."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rampart.clock import FeedClock, SimClock
from rampart.telegram import text

REPLAY_START = 1_704_067_200_000  # 2024-01-01 00:00 UTC, the bundled candles' first
WALL_START = 1_795_000_000_000  # 2026-11-18, "today"
SPEED = 300


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    text.show_times_of(None)


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
    text.show_times_of(clock)
    a_minute_ago = market.now_ms() - 60 * SPEED * 1_000  # business time of a minute ago
    assert text.shown_ms(a_minute_ago) == wall.now_ms() - 60_000
    assert text.when(a_minute_ago) != text.ms_to_datetime(a_minute_ago).strftime("%m-%d %H:%M")
    assert not text.when(a_minute_ago).startswith("01-01")  # not the replay's date
    # Ahead (a hold until some business time): at the feed's pace.
    in_an_hour = market.now_ms() + 3_600 * SPEED * 1_000
    assert text.shown_ms(in_an_hour) == wall.now_ms() + 3_600_000
    # Before the first moment seen: at the pace since then.
    assert text.shown_ms(REPLAY_START - SPEED * 1_000) == WALL_START - 1_000


def test_on_an_exchange_feed_times_are_shown_as_they_are() -> None:
    text.show_times_of(SimClock(REPLAY_START))  # no wall axis: business time is wall time
    assert text.shown_ms(REPLAY_START) == REPLAY_START
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
