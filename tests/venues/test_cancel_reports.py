"""What the paper venue reports for a cancel, and its answers about instruments and accounts
(survivors of ``venues/matching.py``): the code, reason and time of a canceled order
and of its OCO partner, a cancel before any candle at the venue's clock, the instrument it
trades, and an account it does not hold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderStatus

from .helpers import BUY, INSTRUMENT, LIMIT, MINUTE, SELL, STOP, SYMBOL, Desk, bar, order, sync

D = Decimal


def test_a_canceled_leg_and_its_partner_say_why_at_the_last_bars_close() -> None:
    desk = Desk({"USDT": "0", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.oco(order("sl", SELL, STOP, "1", stop="90.00"), order("tp", SELL, LIMIT, "1", "120.00"))
    desk.clock.set(5 * MINUTE)  # later than the bar: the book's time is the last close
    reports = desk.cancel("tp")
    assert [(r.client_id, r.status, r.code, r.reason, r.ts) for r in reports] == [
        ("tp", OrderStatus.CANCELED, "canceled", "Canceled on request.", MINUTE),
        ("sl", OrderStatus.CANCELED, "oco", "Its OCO partner was canceled.", MINUTE),
    ]
    assert desk.open_ids() == [] and desk.free("BTC") == 1


def test_a_cancel_before_any_candle_is_at_the_venues_clock() -> None:
    desk = Desk(clock_ms=7_000)
    desk.submit(order("l1", BUY, LIMIT, "1", price="99.00"))
    [r] = desk.cancel("l1")
    assert (r.status, r.code, r.reason, r.ts) == (
        OrderStatus.CANCELED,
        "canceled",
        "Canceled on request.",
        7_000,
    )
    assert desk.locked("USDT") == 0


def test_the_venue_names_its_instruments_and_refuses_others() -> None:
    desk = Desk()
    assert desk.venue.instrument(SYMBOL) == INSTRUMENT
    with pytest.raises(VenueError) as err:
        desk.venue.instrument("DOGE/USDT")
    assert err.value.code == "unknown_symbol"
    assert err.value.message == "DOGE/USDT is not traded on this venue."


def test_an_account_not_open_is_refused_in_plain_words() -> None:
    desk = Desk()
    with pytest.raises(VenueError) as err:
        sync(desk.venue.fetch_balances("nobody"))
    assert err.value.code == "unknown_account"
    assert err.value.message == "Account 'nobody' is not open on this venue."


def test_a_filled_leg_closes_its_partner_saying_so_at_the_fills_time() -> None:
    desk = Desk({"USDT": "0", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.oco(order("sl", SELL, STOP, "1", stop="90.00"), order("tp", SELL, LIMIT, "1", "120.00"))
    reports = desk.candle(bar(1, 110, 125, 109, 121))
    assert [(r.client_id, r.status, r.code, r.reason, r.ts) for r in reports] == [
        ("tp", OrderStatus.FILLED, "", "", 2 * MINUTE),
        ("sl", OrderStatus.CANCELED, "oco", "Its OCO partner filled.", 2 * MINUTE),
    ]
    assert desk.total("USDT") == D("119.88")  # 120 less the 0.1 % maker fee


def test_an_orders_last_change_is_kept_for_the_simulators_update_time() -> None:
    # The exchange simulator answers an order's ``updateTime`` from this record.
    desk = Desk({"USDT": "1000", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.submit(order("l1", BUY, LIMIT, "1", "99.00"))
    desk.submit(order("l2", SELL, LIMIT, "1", "150.00"))
    desk.candle(bar(1, 100, 100, 98, 99))  # l1 fills
    desk.candle(bar(2, 100, 101, 99, 100))
    desk.cancel("l2")
    account = desk.venue.core.account("a")
    filled, canceled = account.find("l1"), account.find("l2")
    assert filled is not None and (filled.created_ts, filled.updated_ts) == (MINUTE, 2 * MINUTE)
    assert canceled is not None and (canceled.created_ts, canceled.updated_ts) == (
        MINUTE,
        3 * MINUTE,
    )
