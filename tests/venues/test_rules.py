"""The exchange's filters beyond tick, lot and minimums, as checked before an order is sent."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rampart.domain.instruments import DEFAULT_INSTRUMENTS
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.venues.validation import check_counts, check_rules

D = Decimal
BTC = DEFAULT_INSTRUMENTS["BTC/USDT"]


def _order(side: Side, kind: OrderType, qty: str, price: str | None = None) -> Order:
    return Order(
        client_id="c",
        account_id="a",
        symbol="BTC/USDT",
        side=side,
        type=kind,
        qty=D(qty),
        role=OrderRole.ENTRY,
        price=None if price is None else D(price),
    )


def test_percent_price_by_side_bounds_a_price_around_the_average_inclusively() -> None:
    sell = _order(Side.SELL, OrderType.LIMIT, "0.01", "500")
    assert check_rules(sell, BTC, D(500), D(100)) is None  # exactly 5 x the average
    refused = check_rules(sell, BTC, D("500.01"), D(100))
    assert refused is not None and refused.code == "percent_price"
    assert "20 to 500" in refused.reason and "average price 100" in refused.reason
    buy = _order(Side.BUY, OrderType.LIMIT, "0.01", "19.99")
    assert check_rules(buy, BTC, D("19.99"), D(100)) is not None
    assert check_rules(buy, BTC, D(20), D(100)) is None
    # Unknown average, no price, or a venue without the filter: nothing to judge.
    assert check_rules(buy, BTC, D("0.01"), None) is None
    assert check_rules(buy, BTC, None, D(100)) is None
    bare = replace(BTC, rules=replace(BTC.rules, bid_up=None))
    assert check_rules(buy, bare, D("0.01"), D(100)) is None


def test_market_lot_size_and_the_lot_maximum() -> None:
    assert check_rules(_order(Side.BUY, OrderType.MARKET, "128.52621"), BTC, None, None) is None
    big = check_rules(_order(Side.BUY, OrderType.MARKET, "128.6"), BTC, None, None)
    assert big is not None and big.code == "market_lot" and "128.52621715" in big.reason
    # A limit order is judged by LOT_SIZE, whose maximum is 9000.
    assert check_rules(_order(Side.BUY, OrderType.LIMIT, "200", "1"), BTC, D(1), D(1)) is None
    huge = check_rules(_order(Side.BUY, OrderType.LIMIT, "9000.1", "1"), BTC, D(1), D(1))
    assert huge is not None and huge.code == "max_qty"
    stepped = replace(BTC, rules=replace(BTC.rules, market_step=D("0.001")))
    odd = check_rules(_order(Side.BUY, OrderType.MARKET, "0.0015"), stepped, None, None)
    assert odd is not None and odd.code == "market_lot"


def test_counts_of_open_orders_and_stops() -> None:
    assert check_counts(BTC, 4, 4, 1, 1) is None  # the fifth stop
    refused = check_counts(BTC, 5, 5, 2, 1)  # an OCO's stop would be the sixth
    assert refused is not None and refused.code == "max_algo_orders"
    assert refused.reason.startswith("BTC/USDT allows 5 stop orders open at once")
    assert check_counts(BTC, 5, 5, 1, 0) is None  # a limit order is no algo order
    many = check_counts(BTC, 199, 0, 2, 0)
    assert many is not None and many.code == "max_orders"
