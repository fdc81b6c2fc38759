"""A replay's end of data: no candle comes after the last one, so the market orders resting then
(an exit decided on the last candle) and those sent after (the end-of-data exit) fill at the
last close, with their slippage and fee; what rests at a limit or a stop stays as it is."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import OrderStatus

from .helpers import BUY, LIMIT, MARKET, SELL, Desk, bar, order

D = Decimal
SUBMITTED, FILLED = OrderStatus.SUBMITTED, OrderStatus.FILLED


def test_a_market_order_resting_at_the_end_fills_at_the_last_close() -> None:
    desk = Desk({"USDT": "1000", "BTC": "2"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.candle(bar(1, 100, 103, 99, 102))
    desk.submit(order("x1", SELL, MARKET, "1"))
    desk.submit(order("l1", BUY, LIMIT, "1", "90.00"))
    desk.venue.end_of_data()
    [sold] = desk.take()
    # The last close of 102 less 2.01 bps, rounded down: 101.97.
    assert (sold.client_id, sold.status) == ("x1", FILLED)
    assert sold.fill is not None and sold.fill.price == D("101.97")
    assert sold.fill.ts == bar(1, 1, 1, 1, 1).close_ts
    assert desk.open_ids() == ["l1"]  # the limit waits for a candle that never comes


def test_after_the_end_a_market_order_fills_when_it_arrives() -> None:
    desk = Desk({"USDT": "1000", "BTC": "2"})
    desk.candle(bar(0, 100, 101, 99, 100))
    desk.venue.end_of_data()
    assert desk.take() == []
    reports = desk.submit(order("x1", SELL, MARKET, "1"))
    assert [r.status for r in reports] == [SUBMITTED, FILLED]
    assert reports[1].fill is not None and reports[1].fill.price == D("99.97")
