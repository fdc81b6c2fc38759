"""Rampart's ccxt venue, through the real ccxt binance class, against Binance's own words: it
sends the fields ccxt's recordings and Binance's reference show, and takes every recorded
answer (the fixtures, served on 127.0.0.1) into its books the way Binance means it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.trading.ports import VenueReport
from rampart.venues.ccxt_errors import Op
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.retry import RetryPolicy
from rampart_testkit.simulator import ccxt_client
from tests.contracts.binance import shapes
from tests.contracts.binance.fixture_server import FixtureServer, serve_fixtures

D = Decimal
SYMBOL = "BTC/USDT"
ORDER = ("POST", "/api/v3/order")
NOW = 1_710_485_608_839
HOUR = 3_600_000


def _recorded(name: str) -> dict[str, str]:
    """The parameters ccxt's recording of ``name`` sent (query or urlencoded body)."""
    entry = next(e for e in shapes.load("requests")["examples"] if e["name"] == name)
    text = entry.get("output") or urlsplit(entry["url"]).query
    return dict(parse_qsl(text))


@dataclass
class Client:
    server: FixtureServer
    venue: CcxtVenue
    reports: list[VenueReport]
    seq: int = 0

    def order(self, side: Side, kind: OrderType, qty: str, **prices: Decimal) -> Order:
        self.seq += 1
        role = OrderRole.ENTRY if side is Side.BUY else OrderRole.EXIT
        return Order(
            client_id=client_order_id("a1", self.seq, role),
            account_id="a1",
            symbol=SYMBOL,
            side=side,
            type=kind,
            qty=D(qty),
            role=role,
            **prices,
        )

    def fills(self, client_id: str) -> list[VenueReport]:
        return [r for r in self.reports if r.client_id == client_id and r.fill is not None]

    def last_sent(self, method: str, path: str) -> dict[str, str]:
        return self.server.sent(method, path)[-1].params


@asynccontextmanager
async def client() -> AsyncIterator[Client]:
    async with serve_fixtures() as server:
        server.more_symbols.append("BNB")
        exchange = ccxt_client(server.url, "k" * 64, "s" * 64, enableRateLimit=False, timeout=2000)
        venue = CcxtVenue(
            {"a1": exchange},
            clock=SimClock(NOW),
            policy=RetryPolicy(attempts=3, base_s=0.1, cap_s=1.0),
            rng=random.Random(1),
        )
        reports: list[VenueReport] = []
        venue.set_listener(reports.append)
        await venue.load([SYMBOL])
        try:
            yield Client(server, venue, reports)
        finally:
            await venue.aclose()


def test_the_markets_and_their_filters_come_from_the_recorded_exchange_info() -> None:
    async def go() -> None:
        async with client() as c:
            inst = c.venue.instrument(SYMBOL)
            assert (inst.tick_size, inst.lot_size, inst.min_qty, inst.min_notional) == (
                D("0.01"),
                D("0.00001"),
                D("0.00001"),
                D(5),
            )
            rules = inst.rules
            assert (rules.max_qty, rules.market_max_qty, rules.market_step) == (
                D(9000),
                D("128.52621715"),
                D(0),
            )
            assert (rules.bid_up, rules.bid_down, rules.ask_up, rules.ask_down) == (
                D(5),
                D("0.2"),
                D(5),
                D("0.2"),
            )
            assert (rules.avg_price_mins, rules.max_orders, rules.max_algo_orders) == (5, 200, 5)
            assert (rules.iceberg_parts, rules.min_trailing_above, rules.max_trailing_below) == (
                10,
                10,
                2000,
            )
            # BTCUSDT as recorded takes no STOP_LOSS: stops go as STOP_LOSS_LIMIT.
            assert c.venue.order_types[SYMBOL] == {
                "LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT",
            }  # fmt: skip

    asyncio.run(go())


def test_a_market_buy_sends_what_ccxt_sends_and_books_a_commission_taken_in_btc() -> None:
    async def go() -> None:
        async with client() as c:
            c.server.answer(*ORDER, "order_new", "base asset")
            buy = c.order(Side.BUY, OrderType.MARKET, "0.01")
            await c.venue.submit(buy)
            sent = c.last_sent(*ORDER)
            recorded = _recorded("createOrder: Spot limit buy order")
            assert set(sent) == set(recorded) - {"price", "timeInForce"}
            assert {k: sent[k] for k in ("symbol", "side", "type", "quantity")} == {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "MARKET",
                "quantity": "0.01",
            }
            assert sent["newClientOrderId"] == buy.client_id
            assert sent["newOrderRespType"] == recorded["newOrderRespType"] == "FULL"
            fills = [r.fill for r in c.fills(buy.client_id) if r.fill is not None]
            assert [(f.qty, f.price, f.fee_asset, f.fee_qty) for f in fills] == [
                (D("0.006"), D(4000), "BTC", D("0.000006")),
                (D("0.004"), D(4001), "BTC", D("0.000004")),
            ]
            assert all(f.fee == f.fee_qty * f.price for f in fills)
            assert c.reports[-1].status is OrderStatus.FILLED

    asyncio.run(go())


def test_a_commission_paid_in_bnb_is_booked_in_bnb_at_bnbs_last_price() -> None:
    async def go() -> None:
        async with client() as c:
            c.server.answer(*ORDER, "order_new", "BNB")
            c.server.changes[("GET", "/api/v3/ticker/24hr")] = {"lastPrice": "600.00000000"}
            buy = c.order(Side.BUY, OrderType.MARKET, "0.01")
            await c.venue.submit(buy)
            assert c.last_sent("GET", "/api/v3/ticker/24hr")["symbol"] == "BNBUSDT"
            fills = [r.fill for r in c.fills(buy.client_id) if r.fill is not None]
            assert [(f.fee_asset, f.fee_qty, f.fee) for f in fills] == [
                ("BNB", D("0.00003"), D("0.018")),
                ("BNB", D("0.00002001"), D("0.012006")),
            ]

    asyncio.run(go())


def test_a_limit_and_a_stop_send_the_fields_ccxt_sends_and_prices_are_judged_first() -> None:
    async def go() -> None:
        async with client() as c:
            c.server.changes[("GET", "/api/v3/avgPrice")] = {"price": "4000.00000000"}
            sell = c.order(Side.SELL, OrderType.LIMIT, "0.01", price=D(4100))
            await c.venue.submit(sell)
            sent = c.last_sent(*ORDER)
            assert set(sent) == set(_recorded("createOrder: Spot limit buy order"))
            assert (sent["type"], sent["price"], sent["timeInForce"]) == ("LIMIT", "4100", "GTC")
            assert c.last_sent("GET", "/api/v3/avgPrice") == {"symbol": "BTCUSDT"}
            stop = c.order(Side.SELL, OrderType.STOP_MARKET, "0.01", stop_price=D(3900))
            await c.venue.submit(stop)
            sent = c.last_sent(*ORDER)
            assert set(sent) == set(_recorded("createOrder: Spot limit buy with triggerPrice"))
            assert (sent["type"], sent["stopPrice"], sent["price"]) == (
                "STOP_LOSS_LIMIT",
                "3900",
                "3880.5",  # half a percent past the stop
            )
            posts = len(c.server.sent(*ORDER))
            with pytest.raises(VenueError) as info:
                await c.venue.submit(c.order(Side.SELL, OrderType.LIMIT, "0.01", price=D(20001)))
            assert info.value.code == "percent_price" and len(c.server.sent(*ORDER)) == posts

    asyncio.run(go())


def test_an_oco_sends_the_documented_fields_and_both_legs_are_acknowledged() -> None:
    async def go() -> None:
        async with client() as c:
            c.server.changes[("GET", "/api/v3/avgPrice")] = {"price": "4000.00000000"}
            stop = c.order(Side.SELL, OrderType.STOP_MARKET, "0.01", stop_price=D(3900))
            take = c.order(Side.SELL, OrderType.LIMIT, "0.01", price=D(4100))
            stop.oco_group = take.oco_group = stop.client_id
            await c.venue.submit_oco(stop, take)
            sent = c.last_sent("POST", "/api/v3/orderList/oco")
            fields = shapes.example("order_list_oco")["request_fields"]
            assert set(fields["mandatory"]) <= set(sent)
            assert set(sent) <= set(fields["mandatory"]) | set(fields["optional"])
            assert (sent["aboveType"], sent["abovePrice"], sent["aboveClientOrderId"]) == (
                "LIMIT_MAKER",
                "4100",
                take.client_id,
            )
            assert (sent["belowType"], sent["belowStopPrice"], sent["belowTimeInForce"]) == (
                "STOP_LOSS_LIMIT",
                "3900",
                "GTC",
            )
            assert sent["belowClientOrderId"] == stop.client_id and sent["side"] == "SELL"
            acknowledged = {r.client_id for r in c.reports if r.status is OrderStatus.SUBMITTED}
            assert acknowledged == {stop.client_id, take.client_id}
            assert not any(t.unknown for t in c.venue.tracked())

    asyncio.run(go())


def test_a_cancel_answered_with_its_own_client_id_closes_the_order_it_names() -> None:
    async def go() -> None:
        async with client() as c:
            c.server.changes[("GET", "/api/v3/avgPrice")] = {"price": "4000.00000000"}
            order = c.order(Side.SELL, OrderType.LIMIT, "0.01", price=D(4100))
            await c.venue.submit(order)
            await c.venue.cancel("a1", order.client_id)
            sent = c.last_sent("DELETE", "/api/v3/order")
            fields = shapes.example("order_cancel")["request_fields"]
            assert set(fields["mandatory"]) <= set(sent)
            assert any(k in sent for k in fields["one_of"])
            assert sent["origClientOrderId"] == order.client_id
            mine = [r.status for r in c.reports if r.client_id == order.client_id]
            assert mine == [OrderStatus.SUBMITTED, OrderStatus.CANCELED]
            assert c.venue.tracked() == []

    asyncio.run(go())


def test_queries_take_every_recorded_answer_and_history_asks_in_accepted_windows() -> None:
    async def go() -> None:
        async with client() as c:
            stop = await c.venue.fetch_order("a1", "rp-f29bc91b-0000000009-s")
            assert stop is not None
            assert (stop.status, stop.type, stop.stop_price) == (
                OrderStatus.SUBMITTED,
                OrderType.STOP_MARKET,
                D("0.09"),
            )
            (resting,) = await c.venue.fetch_open_orders("a1")
            assert (resting.side, resting.price, resting.qty) == (Side.BUY, D(50), D("0.2"))
            since = NOW - 30 * HOUR
            # ccxt keeps what is after ``since``: the recorded answers, as of two hours ago.
            recent = NOW - 2 * HOUR
            c.server.changes[("GET", "/api/v3/allOrders")] = {"time": recent, "updateTime": recent}
            c.server.changes[("GET", "/api/v3/myTrades")] = {"time": recent}
            (old,) = await c.venue.fetch_recent_orders("a1", SYMBOL, since)
            assert old.status is OrderStatus.CANCELED
            fills = []
            for which in ("USDT", "BNB", "BTC received"):
                c.server.answer("GET", "/api/v3/myTrades", "my_trades", which)
                fills += await c.venue.fetch_fills("a1", SYMBOL, since)
            assert [(f.side, f.fee_asset) for f in fills] == [
                (Side.SELL, ""),
                (Side.BUY, "BNB"),
                (Side.BUY, "BTC"),
            ]
            assert fills[0].fee == D("0.013926")
            for path in ("/api/v3/allOrders", "/api/v3/myTrades"):
                windows = c.server.sent("GET", path)
                assert len(windows) >= 2  # 30 hours: more than one window
                for asked in windows:
                    span = int(asked.params["endTime"]) - int(asked.params["startTime"])
                    assert 0 <= span <= 24 * HOUR and int(asked.params["limit"]) <= 1000
            balances = await c.venue.fetch_balances("a1")
            assert balances["LTC"].free == D("0.919741") and "BTC" not in balances

    asyncio.run(go())


def test_binances_refusals_become_the_venues_errors() -> None:
    async def go() -> None:
        async with client() as c:
            server = c.server
            for name, code in (
                ("insufficient", "insufficient_funds"),
                ("a filter", "filter"),  # Binance's -1013 "Filter failure: ...": re-read the rules
                ("algo-order cap", "refused"),
            ):
                server.refuse_next(*ORDER, name)
                with pytest.raises(VenueError) as info:
                    await c.venue.submit(c.order(Side.BUY, OrderType.MARKET, "0.01"))
                assert info.value.code == code, name
                assert c.venue.tracked() == []
            exchange = c.venue.client("a1")

            async def balance() -> object:
                return await c.venue.caller.call(
                    exchange, "fetch_balance", Op.READ, lambda: exchange.fetch_balance()
                )

            for name in ("receive window", "rate limit"):  # retried, then answered
                server.refuse_next("GET", "/api/v3/account", name)
                before = len(server.sent("GET", "/api/v3/account"))
                await balance()
                assert len(server.sent("GET", "/api/v3/account")) == before + 2
            server.refuse_next("GET", "/api/v3/account", "banned")
            server.refuse_next("GET", "/api/v3/account", "banned")
            server.refuse_next("GET", "/api/v3/account", "banned")
            with pytest.raises(VenueError) as info:
                await balance()
            assert info.value.code == "rate_limited"
            server.refuse_next("DELETE", "/api/v3/order", "does not hold")
            with pytest.raises(VenueError) as info:
                await c.venue.caller.call(
                    exchange,
                    "cancel_order",
                    Op.CANCEL,
                    lambda: exchange.cancel_order("1", SYMBOL),
                )
            assert info.value.code == "not_found"
            server.refuse_next("GET", "/api/v3/myTrades", "over 24 hours")
            with pytest.raises(VenueError) as info:
                await c.venue.sync.trades(exchange, SYMBOL, NOW - 30 * HOUR, None)
            assert info.value.code in {"invalid_order", "refused"}

    asyncio.run(go())
