"""The exchange simulator against Binance's own words: every answer it gives for an endpoint
Rampart uses has the keys, JSON types and encodings of the fixtures (numbers Binance sends as
strings as strings, counts as integers), its refusals Binance's codes, messages and statuses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp

from rampart_testkit.simulator import SimulatorHandle, start_simulator
from rampart_testkit.simulator.signing import sign
from tests.contracts.binance import shapes

D = Decimal
CENT = D("0.01")


@dataclass
class Raw:
    """Signed requests as any Binance client sends them, with the raw answer kept."""

    sim: SimulatorHandle
    http: aiohttp.ClientSession
    key: str
    secret: str

    async def call(
        self, method: str, path: str, signed: bool = True, **params: Any
    ) -> tuple[int, dict[str, str], Any]:
        query = dict(params)
        if signed:
            query["timestamp"] = str(time.time_ns() // 1_000_000)
        text = urlencode(query)
        if signed:
            text += "&signature=" + sign(text, self.secret)
        async with self.http.request(
            method, f"{path}?{text}", headers={"X-MBX-APIKEY": self.key}
        ) as resp:
            return resp.status, dict(resp.headers), await resp.json()

    async def ok(self, method: str, path: str, signed: bool = True, **params: Any) -> Any:
        status, _, body = await self.call(method, path, signed, **params)
        assert status == 200, body
        return body


@asynccontextmanager
async def raw(
    balances: dict[str, str], symbols: tuple[str, ...] = ("BTC/USDT",), bnb: bool = False
) -> AsyncIterator[Raw]:
    async with start_simulator(symbols=symbols) as sim:
        await sim.advance(5)
        key, secret = sim.create_account(balances, bnb_fees=bnb)
        async with aiohttp.ClientSession(base_url=sim.url) as http:
            yield Raw(sim, http, key, secret)


def same_shape(fixture: str, answer: Any, which: int | str = 0) -> None:
    real = shapes.wire(shapes.example(fixture, which)["response"])
    assert shapes.differences(real, answer) == [], f"{fixture}: {answer}"


def test_the_shape_check_refuses_what_binance_does_not_send() -> None:
    real = shapes.wire(shapes.example("order_new", "USDT")["response"])
    assert shapes.differences(real, real) == []
    wrong = {**real, "price": 4000.0, "orderId": "28"}  # a float price, a string id
    del wrong["selfTradePreventionMode"]
    found = shapes.differences(real, wrong)
    assert "$.price: number where Binance sends a decimal string" in found
    assert "$.orderId: string where Binance sends a integer" in found
    assert "$.selfTradePreventionMode: missing" in found
    fills = {**real, "fills": [{**real["fills"][0], "commission": 4}]}
    assert shapes.differences(real, fills) == [
        "$.fills[0].commission: integer where Binance sends a decimal string"
    ]


def test_public_answers_have_binances_shape() -> None:
    async def go() -> None:
        async with raw({"USDT": "1000"}) as r:
            info = await r.ok("GET", "/api/v3/exchangeInfo", signed=False, symbol="BTCUSDT")
            same_shape("exchange_info", info)
            same_shape("server_time", await r.ok("GET", "/api/v3/time", signed=False))
            avg = await r.ok("GET", "/api/v3/avgPrice", signed=False, symbol="BTCUSDT")
            same_shape("avg_price", avg)
            ticker = await r.ok("GET", "/api/v3/ticker/24hr", signed=False, symbol="BTCUSDT")
            same_shape("ticker_24hr", ticker)

    asyncio.run(go())


def test_orders_trades_and_balances_have_binances_shape() -> None:
    async def go() -> None:
        async with raw({"USDT": "10000"}) as r:
            last = r.sim.exchange.last_price("BTC/USDT")
            low = str((last * D("0.5")).quantize(CENT))
            limit = await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                timeInForce="GTC", quantity="0.001", price=low, newClientOrderId="lim",
                newOrderRespType="FULL",
            )  # fmt: skip
            same_shape("order_new", limit, "LIMIT buy accepted")
            buy = await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET",
                quantity="0.01", newOrderRespType="FULL",
            )  # fmt: skip
            same_shape("order_new", buy, "base asset")
            assert {f["commissionAsset"] for f in buy["fills"]} == {"BTC"}
            sell = await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="SELL", type="MARKET",
                quantity="0.002", newOrderRespType="FULL",
            )  # fmt: skip
            same_shape("order_new", sell, "USDT")
            assert {f["commissionAsset"] for f in sell["fills"]} == {"USDT"}
            stop = await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="SELL", type="STOP_LOSS",
                quantity="0.001", stopPrice=low, newClientOrderId="stop",
                newOrderRespType="FULL",
            )  # fmt: skip
            same_shape("order_new", stop, "not yet triggered")
            assert stop["workingTime"] == -1
            oco = await r.ok(
                "POST", "/api/v3/orderList/oco", symbol="BTCUSDT", side="SELL",
                quantity="0.002", aboveType="LIMIT_MAKER",
                abovePrice=str((last * D("1.5")).quantize(CENT)), belowType="STOP_LOSS_LIMIT",
                belowStopPrice=str((last * D("0.6")).quantize(CENT)),
                belowPrice=str((last * D("0.59")).quantize(CENT)), belowTimeInForce="GTC",
                listClientOrderId="list",
            )  # fmt: skip
            same_shape("order_list_oco", oco)
            filled = await r.ok(
                "GET", "/api/v3/order", symbol="BTCUSDT", orderId=str(buy["orderId"])
            )
            same_shape("order_query", filled, "filled")
            resting = await r.ok("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="stop")
            same_shape("order_query", resting, "not yet triggered")
            assert (resting["workingTime"], resting["isWorking"]) == (-1, False)
            same_shape("open_orders", await r.ok("GET", "/api/v3/openOrders", symbol="BTCUSDT"))
            same_shape("all_orders", await r.ok("GET", "/api/v3/allOrders", symbol="BTCUSDT"))
            trades = await r.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT")
            same_shape("my_trades", [t for t in trades if t["isBuyer"]], "BTC received")
            same_shape("my_trades", [t for t in trades if not t["isBuyer"]], "USDT")
            for trade in trades:
                assert shapes.decimals(trade["commission"]) == 8
            same_shape("account", await r.ok("GET", "/api/v3/account"))
            canceled = await r.ok(
                "DELETE", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="lim"
            )
            same_shape("order_cancel", canceled)
            assert canceled["origClientOrderId"] == "lim" != canceled["clientOrderId"]
            gone = await r.ok(
                "DELETE", "/api/v3/orderList", symbol="BTCUSDT", listClientOrderId="list"
            )
            same_shape("order_list_cancel", gone)
            assert {o["origClientOrderId"] for o in gone["orderReports"]} == {
                o["clientOrderId"] for o in oco["orders"]
            }

    asyncio.run(go())


def test_a_commission_paid_in_bnb_has_binances_shape() -> None:
    async def go() -> None:
        async with raw({"USDT": "10000", "BNB": "5"}, ("BTC/USDT", "BNB/USDT"), bnb=True) as r:
            buy = await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET",
                quantity="0.01", newOrderRespType="FULL",
            )  # fmt: skip
            same_shape("order_new", buy, "BNB")
            assert {f["commissionAsset"] for f in buy["fills"]} == {"BNB"}
            trades = await r.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT")
            same_shape("my_trades", trades, "BNB")

    asyncio.run(go())


async def _refusal(r: Raw, name: str, method: str, path: str, **params: Any) -> dict[str, str]:
    expected = shapes.example("errors", name)
    status, headers, body = await r.call(method, path, **params)
    assert status == expected["status"], body
    assert shapes.differences(shapes.wire(expected["response"]), body) == []
    assert body["code"] == expected["response"]["code"]
    return {"msg": body["msg"], **headers}


def test_refusals_have_binances_codes_messages_and_statuses() -> None:
    async def go() -> None:
        async with raw({"USDT": "100"}) as r:
            found = await _refusal(
                r, "insufficient", "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY",
                type="MARKET", quantity="1",
            )  # fmt: skip
            assert found["msg"] == shapes.example("errors", "insufficient")["response"]["msg"]
            found = await _refusal(
                r, "a filter", "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY",
                type="MARKET", quantity="0.000011",
            )  # fmt: skip
            assert found["msg"] == "Filter failure: LOT_SIZE"
            found = await _refusal(
                r, "does not hold", "DELETE", "/api/v3/order", symbol="BTCUSDT",
                origClientOrderId="nothing",
            )  # fmt: skip
            assert found["msg"] == "Unknown order sent."
            end = r.sim.exchange.now_ms
            found = await _refusal(
                r, "over 24 hours", "GET", "/api/v3/myTrades", symbol="BTCUSDT",
                startTime=str(end - 25 * 3_600_000), endTime=str(end),
            )  # fmt: skip
            assert found["msg"] == "More than 24 hours between startTime and endTime."
            skew = r.sim.faults.add("skew", skew_ms=10_000)
            found = await _refusal(r, "receive window", "GET", "/api/v3/account")
            assert found["msg"] == "Timestamp for this request is outside of the recvWindow."
            r.sim.faults.clear(fault_id=skew.id)
            r.sim.faults.add("rate_limit", count=1, retry_after_s=2, ban=True)
            found = await _refusal(r, "rate limit", "GET", "/api/v3/account")
            assert found["Retry-After"] == "2"
            assert found["msg"].startswith("Too much request weight used; current limit is")
            found = await _refusal(r, "banned", "GET", "/api/v3/account")
            assert found["msg"].startswith("Way too much request weight used; IP banned until")
            assert int(found["Retry-After"]) >= 1

    asyncio.run(go())
