"""A buy that must pay more than it holds buys every lot the account can pay, and only those
(survivors of ``MatchingCore._affordable``).

The bug this pins (fixed with it): the lots a short buy could pay were counted as if the rest
of the order stayed held, while that rest is canceled at once. A market buy of 2 BTC whose
second BTC filled at 130 instead of about 100 bought 0.003 BTC with the 100 USDT it had for it,
and gave the rest back; it now buys 0.770 BTC with it."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.orders import OrderStatus

from .helpers import BUY, MARKET, MINUTE, Desk, bar, order

D = Decimal
PARTIAL, CANCELED = OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELED
PRICE = D("130.04")
"""The remainder's price: the open 130 plus 3 bps of slippage, on the tick."""


def cost(qty: str) -> Decimal:
    """What ``qty`` BTC costs at :data:`PRICE` with the 0.1 % taker fee."""
    notional = D(qty) * PRICE
    return notional + notional * D("0.001")


def first_btc(desk: Desk, qty: str) -> None:
    """A market buy of ``qty`` BTC decided on a close of 100: it fills 1 at the next bar's
    open of 100 (the 10 % cap of a bar of 10) at 100.03."""
    desk.candle(bar(0, 100, 101, 99, 100, 10))
    accepted = desk.submit(order("m1", BUY, MARKET, qty))
    assert [r.status for r in accepted] == [OrderStatus.SUBMITTED]
    first = desk.candle(bar(1, 100, 101, 99, 100, 10))
    assert [r.status for r in first] == [PARTIAL]
    assert (first[0].fill.qty, first[0].fill.price) == (D(1), D("100.03"))


def remainder_at_130(funding: str) -> tuple[Desk, list]:  # type: ignore[type-arg]
    """A market buy of 2 BTC filling 1 at 100.03 (:func:`first_btc`), then its remainder at
    the next bar's open of 130: the reports of that bar."""
    desk = Desk({"USDT": funding})
    first_btc(desk, "2")
    return desk, desk.candle(bar(2, 130, 131, 129, 130, 10))


def test_the_remainder_buys_every_lot_the_account_can_pay() -> None:
    # 200.44024 is exactly what the order locked (2 at 100.12 plus the fee); after the first
    # BTC, 100.31021 is left for the second, which costs 130.17 at 130.04.
    desk, reports = remainder_at_130("200.44024")
    assert [r.status for r in reports] == [PARTIAL, CANCELED]
    fill = reports[0].fill
    assert (fill.qty, fill.price, fill.fee) == (D("0.770"), PRICE, D("0.1001308"))
    assert reports[1].code == "insufficient_funds" and reports[1].ts == 3 * MINUTE
    assert reports[1].reason == (
        "The rest of the order was canceled: the account cannot pay for it at 130.04."
    )
    # What is left is less than one more lot would cost.
    left = desk.free("USDT")
    assert left == D("100.31021") - cost("0.770") == D("0.0792792")
    assert D(0) <= left < cost("0.001")
    assert desk.locked("USDT") == 0 and desk.total("BTC") == D("1.770")


def test_money_for_exactly_the_last_lot_buys_it() -> None:
    # 100.36110084 left for the remainder: 0.771 BTC with its fee, to the last digit.
    desk, reports = remainder_at_130("200.49113084")
    assert reports[0].fill.qty == D("0.771") and reports[0].fill.fee == D("0.10026084")
    assert desk.free("USDT") == 0 and desk.total("BTC") == D("1.771")
    # One hundred-millionth of a USDT less, and that lot is not bought.
    desk, reports = remainder_at_130("200.49113083")
    assert reports[0].fill.qty == D("0.770")
    assert desk.free("USDT") == D("100.36110083") - cost("0.770")


def test_a_remainder_the_account_cannot_pay_a_lot_of_buys_nothing() -> None:
    desk = Desk({"USDT": "200.44024"})
    first_btc(desk, "2")
    # One lot (0.001 BTC) at 200,060 costs 200.26: more than the 100.31 left.
    reports = desk.candle(bar(2, 200_000, 200_001, 199_999, 200_000, 10))
    assert [(r.status, r.fill, r.code) for r in reports] == [(CANCELED, None, "insufficient_funds")]
    assert desk.free("USDT") == D("100.31021") and desk.total("BTC") == 1


def test_a_capped_remainder_the_account_can_pay_only_by_dropping_the_rest_fills_the_cap() -> None:
    # 3 BTC at 1 a bar: after the first, 200.53 is left for two more. The second, at 130.04,
    # is payable only if the third is given up: the bar's whole 1 BTC fills, the third is
    # canceled.
    desk = Desk({"USDT": "300.66036"})  # exactly 3 at 100.12 with the fee
    first_btc(desk, "3")
    reports = desk.candle(bar(2, 130, 131, 129, 130, 10))
    assert [r.status for r in reports] == [PARTIAL, CANCELED]
    assert (reports[0].fill.qty, reports[0].fill.price) == (D(1), PRICE)
    assert reports[1].code == "insufficient_funds"
    assert desk.free("USDT") == D("300.66036") - D("100.13003") - cost("1")
    assert desk.locked("USDT") == 0 and desk.total("BTC") == 2
