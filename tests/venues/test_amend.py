"""The paper venue re-sizes a resting OCO pair in place: same ids, one lock, and a
refusal (coins not free, a quantity off the lot, no such pair) changes nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderStatus

from .helpers import LIMIT, SELL, STOP, Desk, bar, order

D = Decimal


def _pair(held: str = "3", qty: str = "1") -> Desk:
    desk = Desk({"USDT": "1000", "BTC": held})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.oco(
        order("sl", SELL, STOP, qty, stop="95.00"), order("tp", SELL, LIMIT, qty, price="105.00")
    )
    return desk


def _amend(desk: Desk, remaining: str) -> None:
    asyncio.run(desk.venue.amend_oco("a", "sl", "tp", D(remaining)))


def test_a_pair_grows_in_place_and_locks_its_coins_once() -> None:
    desk = _pair()
    _amend(desk, "2.5")
    assert desk.open_ids() == ["sl", "tp"]
    assert desk.locked("BTC") == D("2.5") and desk.free("BTC") == D("0.5")
    reports = desk.candle(bar(1, 100, 106, 99, 105))  # the target fills all 2.5
    assert [(r.client_id, r.status) for r in reports] == [
        ("tp", OrderStatus.FILLED),
        ("sl", OrderStatus.CANCELED),
    ]
    assert reports[0].fill is not None and reports[0].fill.qty == D("2.5")


@pytest.mark.parametrize(("remaining", "code"), [("3.5", "insufficient_funds"), ("0", "bad_lot")])
def test_a_refused_amend_changes_nothing(remaining: str, code: str) -> None:
    desk = _pair()
    with pytest.raises(VenueError) as refused:
        _amend(desk, remaining)
    assert refused.value.code == code
    assert desk.locked("BTC") == D(1) and desk.open_ids() == ["sl", "tp"]


def test_no_pair_no_amend() -> None:
    desk = _pair()
    with pytest.raises(VenueError) as refused:
        asyncio.run(desk.venue.amend_oco("a", "sl", "nope", D(1)))
    assert refused.value.code == "unknown_order"
