"""/profit's "Realised today" and "Return today" are on one day: on a simulated feed both count
the wall days its times stand for (the business-time axis), never one the wall day and the other the
replay's day."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from rampart import clock as clock_mod
from rampart.clock import FeedClock, SimClock
from rampart.domain.positions import ClosedTrade
from rampart.operator.profit import summarize
from rampart.operator.returns import account_returns

D = Decimal
DAY = 86_400_000
REPLAY_START = 1_704_067_200_000  # 2024-01-01 00:00 UTC
WALL_MIDNIGHT = 20_776 * DAY  # a wall-clock midnight
SPEED = 10  # 600 wall seconds are 100 replayed minutes: one replayed day throughout


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    clock_mod.show_times_of(None)


def _feed() -> tuple[FeedClock, dict[int, int]]:
    """A replay run from 5 minutes before a wall midnight to 5 minutes after it; the business
    time of each wall second."""
    market, wall = SimClock(REPLAY_START), SimClock(WALL_MIDNIGHT - 300_000)
    clock = FeedClock(market, wall)
    at: dict[int, int] = {}
    for second in range(601):
        clock._anchor()
        at[second] = market.now_ms()
        wall.advance(1_000)
        market.advance(SPEED * 1_000)
    return clock, at


def _trade(closed_at: int, pnl: str) -> ClosedTrade:
    return ClosedTrade(
        "a1", "BTC/USDT", "trend", "e1", closed_at - 60_000, closed_at, D(1), D(100), D(110),
        D(pnl), D(0), D(pnl), "take_profit", D(99), D(110), D(1),
    )  # fmt: skip


def test_realised_today_and_return_today_count_the_same_day() -> None:
    clock, at = _feed()
    clock_mod.show_times_of(clock)
    created, gained, now = at[0], at[100], at[600]  # the gain: before the wall midnight
    figures = summarize([_trade(gained, "1000")], now, created)
    returns = account_returns(
        "a1",
        [(created, D(10_000)), (gained, D(11_000))],
        [],
        created=created,
        capital=D(10_000),
        now=now,
        equity=D(11_000),
    )
    # Yesterday on the wall clock, though the same replayed day: neither counts it as today.
    assert figures.realized_today == 0 and returns.today == 0
    assert figures.realized_all == 1000 and returns.all == D("0.1")


def test_on_an_exchange_feed_both_count_the_business_day() -> None:
    clock_mod.show_times_of(SimClock(0))  # no wall axis: business time is wall time
    created, gained, now = WALL_MIDNIGHT - 200_000, WALL_MIDNIGHT - 100_000, WALL_MIDNIGHT + 1
    figures = summarize([_trade(gained, "1000")], now, created)
    returns = account_returns(
        "a1",
        [(created, D(10_000)), (gained, D(11_000))],
        [],
        created=created,
        capital=D(10_000),
        now=now,
        equity=D(11_000),
    )
    assert figures.realized_today == 0 and returns.today == 0
