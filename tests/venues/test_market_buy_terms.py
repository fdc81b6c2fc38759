"""What a market buy must be able to pay is worked out from the last close, for market buys
only (survivors of ``MatchingCore._validate``'s memo of the last market buy's terms):
after a new close, after a limit buy, for a sell, and for two market buys on one bar."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import OrderStatus

from .helpers import BUY, LIMIT, MARKET, SELL, Desk, bar, order

D = Decimal


def test_a_market_buy_after_a_new_close_must_pay_at_that_close() -> None:
    desk = Desk({"USDT": "1000"})
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    assert desk.submit(order("m1", BUY, MARKET, "1"))[-1].status is OrderStatus.SUBMITTED
    assert desk.candle(bar(1, 100, 101, 99, 100, 1000))[-1].status is OrderStatus.FILLED
    desk.candle(bar(2, 400, 401, 399, 400, 1000))
    # 2.5 at 400.48 (the close plus the 12 bps cap) with the fee: more than is left.
    [r] = desk.submit(order("m2", BUY, MARKET, "2.5"))
    assert (r.status, r.code, r.reason) == (
        OrderStatus.REJECTED,
        "insufficient_funds",
        "The order needs 1002.201200000000 USDT but only 899.869970000000 USDT is free.",
    )


def test_a_market_buy_after_a_limit_buy_is_priced_as_a_market_buy() -> None:
    desk = Desk({"USDT": "1000"})
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    desk.submit(order("l1", BUY, LIMIT, "9", "50.00"))  # holds 9 × 50 × 1.001 = 450.45
    [r] = desk.submit(order("m1", BUY, MARKET, "6"))
    assert (r.status, r.code, r.reason) == (
        OrderStatus.REJECTED,
        "insufficient_funds",
        "The order needs 601.320720000000 USDT but only 549.550000000000 USDT is free.",
    )


def test_a_market_sell_after_a_market_buy_must_hold_its_coins() -> None:
    desk = Desk({"USDT": "1000"})
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    desk.submit(order("m1", BUY, MARKET, "1"))
    desk.candle(bar(1, 100, 101, 99, 100, 1000))  # it fills at this open
    [r] = desk.submit(order("s1", SELL, MARKET, "5"))
    assert (r.status, r.code, r.reason) == (
        OrderStatus.REJECTED,
        "insufficient_funds",
        "The order needs 5 BTC but only 1 BTC is free.",
    )
    assert desk.total("BTC") == 1


def test_two_market_buys_on_one_bar_both_fill() -> None:
    desk = Desk({"USDT": "1000"})
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    first = desk.submit(order("m1", BUY, MARKET, "1"))
    second = desk.submit(order("m2", BUY, MARKET, "2"))
    assert [r.status for r in first + second] == [OrderStatus.SUBMITTED] * 2
    filled = desk.candle(bar(1, 100, 101, 99, 100, 1000))
    assert [(r.client_id, r.status) for r in filled] == [
        ("m1", OrderStatus.FILLED),
        ("m2", OrderStatus.FILLED),
    ]
    assert desk.total("BTC") == 3


def test_a_market_buy_after_a_market_sell_must_pay_in_the_quote() -> None:
    desk = Desk({"USDT": "50", "BTC": "1"})
    desk.candle(bar(0, 100, 101, 99, 100, 1000))
    desk.submit(order("s1", SELL, MARKET, "0.5"))
    assert desk.candle(bar(1, 100, 101, 99, 100, 1000))[-1].status is OrderStatus.FILLED
    [r] = desk.submit(order("m1", BUY, MARKET, "1"))
    assert (r.status, r.code) == (OrderStatus.REJECTED, "insufficient_funds")
    assert r.reason.startswith("The order needs 100.22012") and "USDT is free" in r.reason
