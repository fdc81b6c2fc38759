"""Partial fills: per bar an order fills at most participation × volume, on the lot size."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import OrderStatus
from rampart.venues.paper import FeeSchedule

from .helpers import BUY, LIMIT, MARKET, SELL, STOP, Desk, bar, order, sync

D = Decimal
SUBMITTED, PARTIAL, FILLED = (
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
)


def test_market_order_remainder_fills_at_later_opens_within_the_volume_cap() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100, 10))
    assert [r.status for r in desk.submit(order("m1", BUY, MARKET, "3"))] == [SUBMITTED]
    # Cap: 10 % of 10 = 1 BTC per bar. Slippage 2 + 10 × min(1/10, 1) = 3 bps.
    first = desk.candle(bar(1, 100, 101, 99, 100, 10))
    assert first[0].status is PARTIAL
    assert first[0].fill.qty == D("1") and first[0].fill.price == D("100.03")
    second = desk.candle(bar(2, 101, 102, 100, 101, 10))
    # 101 × 1.0003 = 101.0303 → 101.04, at the bar's open.
    assert second[0].status is PARTIAL and second[0].fill.price == D("101.04")
    third = desk.candle(bar(3, 102, 103, 101, 102, 10))
    assert third[0].status is FILLED and third[0].fill.price == D("102.04")
    assert [r.fill.fill_id for r in first + second + third] == ["P1-1", "P1-2", "P1-3"]
    view = sync(desk.venue.fetch_order("a", "m1"))
    assert view is not None and view.filled_qty == 3
    assert view.avg_price == (D("100.03") + D("101.04") + D("102.04")) / 3
    assert desk.total("BTC") == 3 and desk.locked("USDT") == 0


def test_limit_order_fills_over_several_bars_and_keeps_the_rest_locked() -> None:
    desk = Desk(fees=FeeSchedule(maker=D("0.001"), taker=D("0.001")))
    desk.candle(bar(0, 100, 101, 99, 100, 10))
    desk.submit(order("l1", BUY, LIMIT, "2.5", price="99.00"))
    # 2.5 × 99 × 1.001 held.
    assert desk.locked("USDT") == D("247.7475")
    fills = []
    for i in range(1, 4):
        fills += desk.candle(bar(i, 100, 100, 98, 99, 10))
    assert [(r.status, r.fill.qty) for r in fills] == [
        (PARTIAL, D("1")),
        (PARTIAL, D("1")),
        (FILLED, D("0.5")),
    ]
    assert desk.locked("USDT") == 0
    assert desk.total("USDT") == D("10000") - D("2.5") * D("99") * D("1.001")


def test_the_cap_is_floored_to_the_lot_size() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    desk.submit(order("l1", BUY, LIMIT, "5", price="99.00"))
    reports = desk.candle(bar(1, 100, 100, 98, 99, 12.3456))
    # 1.23456 floored to the 0.001 lot.
    assert reports[0].fill.qty == D("1.234")
    view = sync(desk.venue.fetch_order("a", "l1"))
    assert view is not None and view.qty - view.filled_qty == D("3.766")


def test_a_zero_volume_bar_sets_no_cap() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    desk.submit(order("l1", BUY, LIMIT, "5", price="99.00"))
    reports = desk.candle(bar(1, 99, 99, 99, 99, 0))
    assert reports[0].status is FILLED and reports[0].fill.qty == D("5")


def test_a_gapped_stop_larger_than_the_bar_fills_its_remainder_at_the_next_open() -> None:
    desk = Desk({"USDT": "0", "BTC": "2"})
    desk.candle(bar(0, 100, 101, 99, 100, 10))
    desk.submit(order("s1", SELL, STOP, "2", stop="95.00"))
    first = desk.candle(bar(1, 93, 94, 92, 93, 10))
    # 1 BTC at the open 93 less 3 bps: 92.9721 → 92.97.
    assert first[0].status is PARTIAL and first[0].fill.price == D("92.97")
    # Triggered, the rest is a market order: the next bar's open, even above the stop.
    second = desk.candle(bar(2, 96, 97, 95.5, 96, 10))
    assert second[0].status is FILLED and second[0].fill.price == D("95.97")


def test_a_market_buy_remainder_the_account_cannot_pay_is_canceled() -> None:
    # Exactly enough for 2 BTC at 100.12 (the close plus the 12 bps cap) plus the fee.
    desk = Desk({"USDT": "200.44024"})
    desk.candle(bar(0, 100, 101, 99, 100, 10))
    desk.submit(order("m1", BUY, MARKET, "2"))
    desk.candle(bar(1, 100, 101, 99, 100, 10))  # the first BTC, at this open
    reports = desk.candle(bar(2, 130, 131, 129, 130, 10))
    # At 130.04 only what the remaining money buys fills; the rest is canceled.
    assert [r.status for r in reports] == [PARTIAL, OrderStatus.CANCELED]
    assert reports[1].code == "insufficient_funds"
    assert desk.free("USDT") >= 0 and desk.locked("USDT") == 0
    bought = reports[0].fill.qty
    assert 0 < bought < 1 and desk.total("BTC") == 1 + bought


def test_each_bar_caps_the_fill_at_its_own_volume() -> None:
    desk = Desk()
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    desk.submit(order("l1", BUY, LIMIT, "5", price="99.00"))
    fills = [desk.candle(bar(i, 100, 100, 98, 99, v))[0].fill.qty for i, v in ((1, 10), (2, 20))]
    assert fills == [D(1), D(2)]  # 10 % of 10, then 10 % of 20
