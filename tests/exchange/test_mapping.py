"""Backoff, Retry-After, and the translation of ccxt's markets, orders and trades."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from rampart.domain.errors import ConfigError, DataError
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.venues import ccxt_mapping as m
from rampart.venues.ccxt_client import make_client
from rampart.venues.retry import Backoff, RetryPolicy, parse_retry_after

D = Decimal
INST = Instrument("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))


def test_full_jitter_grows_to_the_cap_and_honours_retry_after() -> None:
    backoff = Backoff(RetryPolicy(attempts=10, base_s=0.5, cap_s=4.0), random.Random(5))
    waits = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert all(0 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len(set(waits)) == len(waits)  # jittered, not in step
    assert 10 <= backoff.next_delay(retry_after=10) <= 11
    backoff.reset()
    assert backoff.failures == 0
    with pytest.raises(ConfigError):
        RetryPolicy(attempts=0)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("3", 0) == 3
    assert parse_retry_after(" 1.5 ", 0) == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490.0) == 0
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after("soon", 0) is None


def test_instruments_from_tick_size_markets() -> None:
    market = {
        "symbol": "ETH/BTC",
        "base": "ETH",
        "quote": "BTC",
        "precision": {"price": 1e-06, "amount": 0.0001},
        "limits": {"amount": {"min": 0.001}, "cost": {"min": 0.0001}},
    }
    inst = m.instrument_from_market(market, TICK_SIZE)
    assert (inst.tick_size, inst.lot_size, inst.min_qty, inst.min_notional) == (
        D("0.000001"),
        D("0.0001"),
        D("0.001"),
        D("0.0001"),
    )


def test_instruments_from_decimal_places_markets_and_missing_limits() -> None:
    market = {
        "symbol": "X/USD",
        "base": "X",
        "quote": "USD",
        "precision": {"price": 2, "amount": 3},
    }
    inst = m.instrument_from_market(market, DECIMAL_PLACES)
    assert (inst.tick_size, inst.lot_size, inst.min_qty, inst.min_notional) == (
        D("0.01"),
        D("0.001"),
        D("0.001"),
        D("0"),
    )
    with pytest.raises(DataError, match="no price or amount precision"):
        m.instrument_from_market({"symbol": "Y/USD", "precision": {}}, TICK_SIZE)


def _order(kind: OrderType, price: str | None = None, stop: str | None = None) -> Order:
    return Order(
        "rp-x-1-s",
        "a1",
        "BTC/USDT",
        Side.SELL,
        kind,
        D("0.5"),
        OrderRole.STOP_LOSS,
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
    )


def test_order_requests_by_type() -> None:
    types = {"MARKET", "LIMIT", "STOP_LOSS", "STOP_LOSS_LIMIT"}
    assert m.order_request(_order(OrderType.MARKET), INST, types, D("0.005")) == (
        "market",
        None,
        {"clientOrderId": "rp-x-1-s"},
    )
    kind, price, params = m.order_request(_order(OrderType.LIMIT, "101.5"), INST, types, D(0))
    assert (kind, price, params["timeInForce"]) == ("limit", 101.5, "GTC")
    kind, price, params = m.order_request(
        _order(OrderType.STOP_MARKET, stop="100"), INST, types, D("0.005")
    )
    assert (kind, price, params["triggerPrice"]) == ("market", None, 100.0)
    # Without STOP_LOSS on the market, a stop-limit half a percent past the stop stands in.
    kind, price, params = m.order_request(
        _order(OrderType.STOP_MARKET, stop="100"), INST, {"LIMIT", "STOP_LOSS_LIMIT"}, D("0.005")
    )
    assert (kind, price, params["triggerPrice"]) == ("limit", 99.5, 100.0)


def test_statuses_fills_fees_and_balances() -> None:
    base = {"info": {}, "id": "7", "amount": 1.0}
    assert m.status_of({**base, "status": "open", "filled": 0.0}) is OrderStatus.SUBMITTED
    assert m.status_of({**base, "status": "open", "filled": 0.4}) is OrderStatus.PARTIALLY_FILLED
    assert m.status_of({**base, "status": "closed"}) is OrderStatus.FILLED
    assert m.status_of({**base, "status": "expired"}) is OrderStatus.EXPIRED
    m.check_order({**base, "status": "canceled"})
    for junk in ("{not json", {"info": "x", "status": None}, {**base, "status": None}):
        with pytest.raises(Exception, match="does not describe an order"):
            m.check_order(junk)
    trade = {
        "id": "9",
        "price": 42001.09,
        "amount": 0.01,
        "fee": {"cost": 0.42, "currency": "USDT"},
    }
    assert m.fee_of(trade, INST, D("42001.09")) == (D("0.42"), "", D(0))
    in_base = {**trade, "fee": {"cost": 0.00001, "currency": "BTC"}}
    assert m.fee_of(in_base, INST, D("42000")) == (D("0.42000"), "BTC", D("0.00001"))
    in_bnb = {**trade, "fee": {"cost": 0.1, "currency": "BNB"}}
    assert m.fee_of(in_bnb, INST, D(1)) == (None, "BNB", D("0.1"))
    fill = m.fill_from_trade(
        trade, account_id="a1", client_id="c1", inst=INST, side=Side.BUY, fee=D("0.42"), now_ms=5
    )
    assert (fill.fill_id, fill.price, fill.qty, fill.ts) == ("c1:9", D("42001.09"), D("0.01"), 5)
    balances = m.balances_from({"free": {"USDT": 10.5, "BTC": 0.0}, "used": {"BTC": 0.25}})
    assert balances["USDT"].free == D("10.5") and balances["BTC"].locked == D("0.25")
    assert m.num(float("nan")) is None and m.num("1e-8") == D("1e-8") and m.num(None) is None


def test_client_urls_point_at_the_override_and_sandbox_is_the_testnet() -> None:
    client = make_client("binance", api_url="http://127.0.0.1:8900")
    assert client.urls["api"]["public"] == "http://127.0.0.1:8900/api/v3"
    assert client.urls["api"]["sapi"] == "http://127.0.0.1:8900/sapi/v1"
    pro = make_client("binance", api_url="http://127.0.0.1:8900", pro=True)
    assert pro.urls["api"]["ws"]["spot"].startswith("ws://127.0.0.1:8900/")
    testnet = make_client("binance", sandbox=True)
    assert "testnet" in testnet.urls["api"]["public"]
    with pytest.raises(ConfigError):
        make_client("nonesuch")
    with pytest.raises(ConfigError):
        make_client("binance", api_url="ftp://x")
