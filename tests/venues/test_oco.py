"""OCO pairs: one fill cancels the other, the stop wins a bar that touches both, one lock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.orders import OrderStatus

from .helpers import LIMIT, SELL, STOP, STOP_LIMIT, Desk, bar, order, sync

D = Decimal
CANCELED, FILLED = OrderStatus.CANCELED, OrderStatus.FILLED


def bracketed(qty: str = "1", volume: float = 1000.0) -> Desk:
    desk = Desk({"USDT": "1000", "BTC": qty})
    desk.candle(bar(0, 100, 101, 99, 100, volume))
    reports = desk.oco(
        order("sl", SELL, STOP, qty, stop="95.00"), order("tp", SELL, LIMIT, qty, price="105.00")
    )
    assert [r.status for r in reports] == [OrderStatus.SUBMITTED] * 2
    return desk


def test_the_pair_locks_the_coins_once() -> None:
    desk = bracketed()
    assert desk.locked("BTC") == D(1) and desk.free("BTC") == 0
    rejected = desk.submit(order("x", SELL, LIMIT, "0.1", price="110.00"))
    assert rejected[0].code == "insufficient_funds"


def test_take_profit_fill_cancels_the_stop() -> None:
    desk = bracketed()
    reports = desk.candle(bar(1, 100, 106, 99, 105))
    assert [(r.client_id, r.status) for r in reports] == [("tp", FILLED), ("sl", CANCELED)]
    assert reports[0].fill is not None and reports[0].fill.price == D("105.00")
    assert reports[1].code == "oco" and reports[1].ts == reports[0].ts
    assert desk.open_ids() == [] and desk.locked("BTC") == 0


def test_a_bar_touching_both_fills_the_stop_and_cancels_the_take_profit() -> None:
    desk = bracketed()
    reports = desk.candle(bar(1, 100, 106, 94, 100))
    assert [(r.client_id, r.status) for r in reports] == [("sl", FILLED), ("tp", CANCELED)]
    assert reports[0].fill is not None and reports[0].fill.price == D("94.98")
    assert desk.total("BTC") == 0


def test_a_stop_limit_leg_also_wins_a_bar_touching_both() -> None:
    desk = Desk({"USDT": "1000", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    # A stop-limit leg: it triggers and is marketable at 95, so it fills first.
    desk.oco(
        order("sl", SELL, STOP_LIMIT, "1", price="94.00", stop="95.00"),
        order("tp", SELL, LIMIT, "1", price="105.00"),
    )
    reports = desk.candle(bar(1, 100, 106, 94, 100))
    assert [(r.client_id, r.status) for r in reports] == [("sl", FILLED), ("tp", CANCELED)]


def test_a_partial_fill_of_one_leg_cancels_the_other() -> None:
    desk = bracketed(volume=5.0)
    # Volume 5 × 10 % = 0.5 BTC may trade on this bar.
    reports = desk.candle(bar(1, 100, 106, 99, 105, 5.0))
    assert [(r.client_id, r.status) for r in reports] == [
        ("tp", OrderStatus.PARTIALLY_FILLED),
        ("sl", CANCELED),
    ]
    assert desk.locked("BTC") == D("0.5") and desk.open_ids() == ["tp"]
    rest = desk.candle(bar(2, 105, 106, 104, 105, 5.0))
    assert rest[0].status is FILLED and rest[0].fill.qty == D("0.5")
    assert rest[0].fill.fill_id == "P2-2"


def test_a_leg_filled_in_part_holds_only_what_it_has_left() -> None:
    """A take-profit that sold 0.5 of 1 holds the 0.5 left, not its whole quantity: with 2
    BTC held, 1 is free for another sell (the venue's check of a new order reads it)."""
    desk = Desk({"USDT": "1000", "BTC": "2"})
    desk.candle(bar(0, 100, 101, 99, 100, 5.0))
    desk.oco(
        order("sl", SELL, STOP, "1", stop="95.00"), order("tp", SELL, LIMIT, "1", price="105.00")
    )
    desk.candle(bar(1, 100, 106, 99, 105, 5.0))  # 0.5 of the take-profit sells, the stop goes
    assert desk.locked("BTC") == D("0.5") and desk.free("BTC") == D(1)
    accepted = desk.submit(order("x", SELL, LIMIT, "1", price="110.00"))
    assert accepted[0].status is OrderStatus.SUBMITTED
    refused = desk.submit(order("y", SELL, LIMIT, "0.1", price="110.00"))
    assert refused[0].code == "insufficient_funds"


def test_canceling_either_leg_cancels_both_and_unlocks() -> None:
    desk = bracketed()
    reports = desk.cancel("tp")
    assert {(r.client_id, r.status) for r in reports} == {("tp", CANCELED), ("sl", CANCELED)}
    assert desk.locked("BTC") == 0 and desk.free("BTC") == 1
    # The engine cancels both legs of a bracket in turn: the second leg is already closed
    # with the first, so its cancel is answered by that terminal state, not refused, and no
    # report is sent twice.
    assert desk.cancel("sl") == []
    view = sync(desk.venue.fetch_order("a", "sl"))
    assert view is not None and view.status is CANCELED


def test_canceling_a_leg_whose_partner_filled_is_answered_not_refused() -> None:
    desk = bracketed()
    desk.candle(bar(1, 100, 106, 99, 105))  # the take-profit fills, the stop goes with it
    assert desk.open_ids() == []
    assert desk.cancel("sl") == [] and desk.cancel("tp") == []
    view = sync(desk.venue.fetch_order("a", "tp"))
    assert view is not None and view.status is FILLED


@pytest.mark.parametrize(
    ("stop", "take", "why"),
    [
        (
            order("sl", SELL, STOP, "1", stop="95.00"),
            order("tp", SELL, LIMIT, "1", price="94.00"),
            "above the stop",
        ),
        (
            order("sl", SELL, STOP, "1", stop="95.00"),
            order("tp", SELL, LIMIT, "0.5", price="105"),
            "same quantity",
        ),
        (
            order("sl", SELL, LIMIT, "1", price="95.00"),
            order("tp", SELL, LIMIT, "1", price="105"),
            "stop-market or stop-limit",
        ),
        (
            order("sl", SELL, STOP, "1", stop="95.00"),
            order("sl", SELL, LIMIT, "1", price="105"),
            "different client ids",
        ),
    ],
)
def test_malformed_pairs_are_rejected_whole(stop, take, why: str) -> None:
    desk = Desk({"USDT": "1000", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    reports = desk.oco(stop, take)
    assert all(r.status is OrderStatus.REJECTED and r.code == "bad_oco" for r in reports)
    assert why in reports[0].reason
    assert desk.open_ids() == [] and desk.locked("BTC") == 0


def test_a_pair_without_the_coins_is_rejected_whole() -> None:
    desk = Desk({"USDT": "1000", "BTC": "0.5"})
    reports = desk.oco(
        order("sl", SELL, STOP, "1", stop="95.00"), order("tp", SELL, LIMIT, "1", price="105.00")
    )
    assert [r.code for r in reports] == ["insufficient_funds"] * 2
    assert desk.free("BTC") == D("0.5")


def test_resubmitting_a_pair_reports_the_existing_legs() -> None:
    desk = bracketed()
    again = desk.oco(
        order("sl", SELL, STOP, "1", stop="95.00"), order("tp", SELL, LIMIT, "1", price="105.00")
    )
    assert [(r.client_id, r.status, r.code) for r in again] == [
        ("sl", OrderStatus.SUBMITTED, "duplicate"),
        ("tp", OrderStatus.SUBMITTED, "duplicate"),
    ]
    assert len(sync(desk.venue.fetch_open_orders("a"))) == 2
    assert desk.locked("BTC") == 1


def test_the_stop_first_rule_does_not_depend_on_creation_order() -> None:
    desk = bracketed()
    # A snapshot whose take-profit leg was created before its stop (another venue version).
    saved = desk.venue.snapshot()
    legs = saved["accounts"]["a"]["open"]
    legs[0]["seq"], legs[1]["seq"] = legs[1]["seq"], legs[0]["seq"]
    desk.venue.load_snapshot(saved)
    assert desk.open_ids() == ["tp", "sl"]
    reports = desk.candle(bar(1, 100, 106, 94, 100))
    assert [(r.client_id, r.status) for r in reports] == [("sl", FILLED), ("tp", CANCELED)]
