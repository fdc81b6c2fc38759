"""Order Amend Keep Priority against Binance's own words (``order_amend_keep_priority.json``,
rest-api.md's two published answers and errors.md's refusals).

- **client**: the ccxt venue, through the real ccxt binance class, sends one signed PUT with
  the documented parameters (its own client id kept, the signature over the form body) and
  takes the published answer for an order list member; a refusal is a VenueError that changes
  nothing;
- **simulator**: it answers in the published shapes (a lone order: no ``listStatus``; an OCO
  leg: both legs lowered, ``listStatus`` with both), refuses with Binance's codes and
  messages, and its user data stream reports ``"x": "REPLACED"``.
"""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderType, Side
from rampart_testkit.simulator.signing import sign
from rampart_testkit.simulator.weights import weight
from tests.contracts.binance import shapes
from tests.contracts.binance.test_client import client
from tests.contracts.binance.test_simulator import CENT, Raw, raw
from tests.contracts.binance.test_ws_streams import _next
from tests.contracts.binance.test_ws_streams import same_shape as same_event

D = Decimal
FIXTURE = "order_amend_keep_priority"
PATH = "/api/v3/order/amend/keepPriority"


def same_shape(answer: Any, which: str) -> None:
    real = shapes.wire(shapes.example(FIXTURE, which)["response"])
    assert shapes.differences(real, answer) == [], answer


def test_the_venue_sends_one_documented_signed_put_and_takes_the_published_answer() -> None:
    async def go() -> None:
        async with client() as c:
            c.server.changes[("GET", "/api/v3/avgPrice")] = {"price": "4000.00000000"}
            stop = c.order(Side.SELL, OrderType.STOP_MARKET, "0.01", stop_price=D(3900))
            take = c.order(Side.SELL, OrderType.LIMIT, "0.01", price=D(4100))
            stop.oco_group = take.oco_group = stop.client_id
            await c.venue.submit_oco(stop, take)
            (leg,) = [t for t in c.venue.tracked() if t.client_id == stop.client_id]
            # The published answer, naming the order sent and its new quantity.
            c.server.changes[("PUT", PATH)] = {
                "orderId": int(leg.venue_order_id or 0),
                "qty": "0.00400000",
            }
            await c.venue.amend_oco("a1", stop.client_id, take.client_id, D("0.004"))
            (request,) = c.server.sent("PUT", PATH)
            sent = request.params
            fields = shapes.example(FIXTURE, "list member")["request_fields"]
            assert set(fields["mandatory"]) <= set(sent)
            assert set(sent) <= set(fields["mandatory"]) | set(fields["optional"])
            assert (sent["symbol"], sent["orderId"], sent["newQty"]) == (
                "BTCUSDT",
                leg.venue_order_id,
                "0.004",
            )
            assert sent["newClientOrderId"] == stop.client_id  # else Binance makes a new one
            unsigned = urlencode([(k, v) for k, v in sent.items() if k != "signature"])
            assert sign(unsigned, "s" * 64) == sent["signature"]
            assert {t.client_id: t.qty for t in c.venue.tracked()} == {
                stop.client_id: D("0.004"),
                take.client_id: D("0.004"),
            }
            for name in ("quantity increase", "unknown order", "off the lot"):
                c.server.refuse_next("PUT", PATH, name, FIXTURE)
                with pytest.raises(VenueError):
                    await c.venue.amend_oco("a1", stop.client_id, take.client_id, D("0.002"))
                assert {t.qty for t in c.venue.tracked()} == {D("0.004")}

    asyncio.run(go())


async def _oco(r: Raw) -> tuple[Any, Decimal]:
    await r.ok(
        "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01"
    )
    last = r.sim.exchange.last_price("BTC/USDT")
    oco = await r.ok(
        "POST", "/api/v3/orderList/oco", symbol="BTCUSDT", side="SELL", quantity="0.009",
        aboveType="LIMIT_MAKER", abovePrice=str((last * D("1.5")).quantize(CENT)),
        aboveClientOrderId="take", belowType="STOP_LOSS", belowClientOrderId="stop",
        belowStopPrice=str((last * D("0.6")).quantize(CENT)), listClientOrderId="list",
    )  # fmt: skip
    return oco, last


def _open(r: Raw) -> dict[str, tuple[int, Decimal]]:
    return {o.client_id: (o.seq, o.qty) for o in r.sim.exchange.open_orders(_acct(r), None)}


def _acct(r: Raw) -> Any:
    return r.sim.exchange.keys[r.key]


def test_the_simulator_answers_in_the_published_shapes() -> None:
    async def go() -> None:
        async with raw({"USDT": "10000"}) as r:
            oco, last = await _oco(r)
            before = _open(r)
            answer = await r.ok(
                "PUT", PATH, symbol="BTCUSDT", origClientOrderId="stop",
                newClientOrderId="stop", newQty="0.005",
            )  # fmt: skip
            same_shape(answer, "list member")
            order = answer["amendedOrder"]
            assert (order["clientOrderId"], order["origClientOrderId"]) == ("stop", "stop")
            assert (order["qty"], order["orderListId"]) == ("0.00500000", oco["orderListId"])
            assert answer["listStatus"]["orders"] == oco["orders"]
            # An OCO's legs share one quantity: both lowered, same order ids, nothing else.
            assert _open(r) == {c: (seq, D("0.005")) for c, (seq, _) in before.items()}
            price = str((last * D("2")).quantize(CENT))
            await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="SELL", type="LIMIT",
                timeInForce="GTC", quantity="0.004", price=price, newClientOrderId="lone",
            )  # fmt: skip
            lone = await r.ok(
                "PUT", PATH, symbol="BTCUSDT", origClientOrderId="lone",
                newClientOrderId="lone", newQty="0.003",
            )  # fmt: skip
            same_shape(lone, "single order")
            assert "listStatus" not in lone and lone["amendedOrder"]["orderListId"] == -1
            assert lone["executionId"] > answer["executionId"]
            assert weight("PUT", PATH, {}) == shapes.load(FIXTURE)["endpoint"]["weight"]
            query = await r.ok("GET", "/api/v3/order", symbol="BTCUSDT", origClientOrderId="lone")
            assert query["origQty"] == "0.00300000"

    asyncio.run(go())


def test_the_simulator_refuses_with_binances_codes_and_messages() -> None:
    async def go() -> None:
        async with raw({"USDT": "10000"}) as r:
            await _oco(r)
            before = _open(r)
            for name, qty, order in (
                ("quantity increase", "0.01", "stop"),
                ("same quantity", "0.009", "take"),
                ("unknown order", "0.005", "nothing"),
                ("off the lot", "0.0050001", "stop"),
            ):
                expected = shapes.example(FIXTURE, name)
                status, _, body = await r.call(
                    "PUT", PATH, symbol="BTCUSDT", origClientOrderId=order,
                    newClientOrderId=order, newQty=qty,
                )  # fmt: skip
                assert (status, body) == (expected["status"], expected["response"]), name
            status, _, body = await r.call(
                "PUT", PATH, symbol="BTCUSDT", origClientOrderId="stop", newQty="0.005"
            )
            assert status == 400 and body["code"] == -2038  # a new client id: not simulated
            status, _, body = await r.call(
                "PUT", PATH, symbol="BTCUSDT", origClientOrderId="stop",
                newClientOrderId="stop", newQty="0",
            )  # fmt: skip
            assert status == 400 and body["code"] == -1102
            assert _open(r) == before

    asyncio.run(go())


def test_the_user_data_stream_reports_each_amended_leg_as_replaced() -> None:
    async def go() -> None:
        async with raw({"USDT": "10000"}) as r, r.http.ws_connect("/ws-api/v3") as ws:
            await _oco(r)
            params = {"apiKey": r.key, "timestamp": time.time_ns() // 1_000_000}
            signed = urlencode(sorted((k, str(v)) for k, v in params.items()))
            request = {"id": "s1", "method": "userDataStream.subscribe.signature"}
            await ws.send_str(
                json.dumps(request | {"params": params | {"signature": sign(signed, r.secret)}})
            )
            assert (await _next(ws))["status"] == 200
            await r.ok(
                "PUT", PATH, symbol="BTCUSDT", origClientOrderId="take",
                newClientOrderId="take", newQty="0.004",
            )  # fmt: skip
            events = [(await _next(ws))["event"] for _ in range(3)]
            replaced = [e for e in events if e["e"] == "executionReport"]
            assert sorted(e["c"] for e in replaced) == ["stop", "take"]
            for event in replaced:
                same_event("executionReport NEW", {"subscriptionId": 0, "event": event})
                assert (event["x"], event["X"], event["q"]) == ("REPLACED", "NEW", "0.00400000")
            assert any(e["e"] == "outboundAccountPosition" for e in events)

    asyncio.run(go())
