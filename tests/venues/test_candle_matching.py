"""Which candles the paper venue takes and which orders one bar matches (survivors
of ``MatchingCore.on_candle``, ``_accept`` and ``__init__``): a candle of another symbol or not
newer than the last refused in words, every pair and order of a bar matched past a leg its
partner closed and past a pair left untouched, an order accepted after quiet bars and a
stop-limit triggered by a gap both matched by the next bar that reaches them, and the
venue's settings checked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.errors import ConfigError, DataError, VenueError
from rampart.domain.orders import OrderStatus
from rampart.venues.matching import MatchingCore

from .helpers import (
    BUY,
    INSTRUMENTS,
    LIMIT,
    MINUTE,
    SELL,
    STOP,
    STOP_LIMIT,
    Desk,
    bar,
    order,
    sync,
)

D = Decimal
FILLED, CANCELED = OrderStatus.FILLED, OrderStatus.CANCELED


def test_a_candle_of_a_symbol_not_traded_is_refused_by_name() -> None:
    desk = Desk()
    with pytest.raises(VenueError) as err:
        desk.candle(bar(0, 1, 1, 1, 1, symbol="DOGE/USDT"))
    assert err.value.code == "unknown_symbol"
    assert err.value.message == "DOGE/USDT is not traded on this venue."


@pytest.mark.parametrize("resting", [False, True])
def test_a_candle_not_newer_than_the_last_is_refused(resting: bool) -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100))
    if resting:
        desk.submit(order("l1", BUY, LIMIT, "1", "90.00"))
    desk.candle(bar(1, 100, 101, 99, 100))
    with pytest.raises(DataError) as err:
        desk.candle(bar(1, 100, 101, 99, 100))
    assert str(err.value) == (
        f"The BTC/USDT candle at {MINUTE} is not newer than the last one at {MINUTE}."
    )


def test_one_bar_matches_every_pair_and_order_past_the_legs_it_closed() -> None:
    desk = Desk({"USDT": "1000", "BTC": "1"})
    sync(desk.venue.open_account("b", {"BTC": D(1)}))  # a second account with its own pair
    desk.candle(bar(0, 100, 101, 99, 100))
    for account in ("a", "b"):
        desk.oco(
            order(f"sl-{account}", SELL, STOP, "1", stop="95.00", account=account),
            order(f"tp-{account}", SELL, LIMIT, "1", "120.00", account=account),
        )
    desk.submit(order("l1", BUY, LIMIT, "1", "98.00"))
    desk.submit(order("l2", BUY, LIMIT, "1", "96.00"))
    # Neither pair is reached; the buy at 98, placed after them, is.
    quiet = desk.candle(bar(1, 100, 100, 97.5, 99))
    assert [(r.client_id, r.status) for r in quiet] == [("l1", FILLED)]
    # Both stops fill and close their take-profits; the buy at 96, after them, fills too.
    fall = desk.candle(bar(2, 99, 99, 94, 94.5))
    assert [(r.client_id, r.status) for r in fall] == [
        ("sl-a", FILLED),
        ("tp-a", CANCELED),
        ("sl-b", FILLED),
        ("tp-b", CANCELED),
        ("l2", FILLED),
    ]


def test_an_order_placed_after_quiet_bars_is_matched_by_the_next_that_reaches_it() -> None:
    desk = Desk({"USDT": "1000", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "1", "90.00"))
    assert desk.candle(bar(1, 100, 100.5, 99.5, 100)) == []  # nothing reaches 90
    desk.submit(order("l2", SELL, LIMIT, "1", "101.00"))
    reports = desk.candle(bar(2, 100, 102, 100, 101))
    assert [(r.client_id, r.status) for r in reports] == [("l2", FILLED)]


def test_a_stop_limit_triggered_by_a_gap_fills_on_a_later_bar_above_its_trigger() -> None:
    desk = Desk({"USDT": "0", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("sl", SELL, STOP_LIMIT, "1", "94.00", stop="95.00"))
    assert desk.candle(bar(1, 92, 93, 91, 92)) == []  # triggered below its limit: it rests
    [r] = desk.candle(bar(2, 96, 97, 96, 97))  # never back at the trigger, above the limit
    assert r.status is FILLED and r.fill is not None and r.fill.price == D("94.00")


@pytest.mark.parametrize("participation", [D(0), D("-0.1"), D("1.01"), 0.5])
def test_participation_outside_0_to_1_or_not_a_decimal_is_refused(participation: object) -> None:
    with pytest.raises(ConfigError) as err:
        MatchingCore(INSTRUMENTS, participation=participation)  # type: ignore[arg-type]
    assert str(err.value) == (
        f"Participation must be a Decimal above 0 and at most 1, got {participation!r}."
    )


def test_the_whole_volume_and_a_history_of_one_are_allowed_and_none_is_refused() -> None:
    assert MatchingCore(INSTRUMENTS, participation=D(1), history_limit=1).history_limit == 1
    with pytest.raises(ConfigError) as err:
        MatchingCore(INSTRUMENTS, history_limit=0)
    assert str(err.value) == "The venue must remember at least one finished order per account."


def test_a_thousand_finished_orders_are_remembered_by_default() -> None:
    core = MatchingCore(INSTRUMENTS)
    core.open_account("a", {})
    for i in range(1_001):
        [r] = core.submit(order(f"r{i}", BUY, LIMIT, "1", "90.00"), i)
        assert r.code == "insufficient_funds"
    done = core.accounts["a"].done
    assert len(done) == 1_000 and "r0" not in done and "r1" in done
