"""The simulator's websocket streams in Binance's own shapes (``ws_streams.json``): a kline
event, the WebSocket API's user data subscription, ``executionReport`` for a new order and
its fill, ``outboundAccountPosition`` after it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp

from rampart_testkit.simulator.signing import sign
from tests.contracts.binance import shapes
from tests.contracts.binance.test_simulator import raw

REPORT_CONDITIONAL = frozenset(
    ["v", "W", "d", "D", "j", "J", "A", "B", "u", "U", "Cs", "pl", "pL", "pY", "b", "a", "k", "uS"]
)
"""executionReport fields sent only when they apply (user-data-stream.md, "Conditional Fields
in Execution Report"): STP, trailing stops, strategies, allocations, SOR, working time."""


def same_shape(name: str, answer: Any) -> None:
    real = shapes.wire(shapes.example("ws_streams", name)["response"])
    event = real.get("event") if isinstance(real, dict) else None
    if isinstance(event, dict) and event.get("e") == "executionReport":
        real["event"] = {k: v for k, v in event.items() if k not in REPORT_CONDITIONAL}
    assert shapes.differences(real, answer) == [], f"{name}: {answer}"


async def _next(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await asyncio.wait_for(ws.receive(), 30)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


def test_a_kline_stream_answers_and_pushes_in_binances_shape() -> None:
    async def go() -> None:
        async with raw({"USDT": "1000"}) as r, r.http.ws_connect("/ws/0") as ws:
            await ws.send_str(
                json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1})
            )
            same_shape("subscribe to a market stream", await _next(ws))
            closed, opening = await _next(ws), await _next(ws)
            same_shape("kline event", closed)
            same_shape("kline event", opening)
            assert closed["k"]["x"] is True and opening["k"]["x"] is False
            assert opening["k"]["t"] == closed["k"]["T"] + 1  # the next one, forming
            await r.sim.advance(1)
            after = await _next(ws)
            assert after["k"]["t"] == opening["k"]["t"] and after["k"]["x"] is True

    asyncio.run(go())


def test_the_user_data_stream_reports_an_order_and_its_fill_in_binances_shape() -> None:
    async def go() -> None:
        async with raw({"USDT": "10000"}) as r, r.http.ws_connect("/ws-api/v3") as ws:
            params = {"apiKey": r.key, "timestamp": time.time_ns() // 1_000_000}
            signed = urlencode(sorted((k, str(v)) for k, v in params.items()))
            bad = {"id": "x", "method": "userDataStream.subscribe.signature"}
            await ws.send_str(json.dumps(bad | {"params": params | {"signature": "0" * 64}}))
            refused = await _next(ws)
            assert refused["status"] == 400 and refused["error"]["code"] == -1022
            request = {"id": "s1", "method": "userDataStream.subscribe.signature"}
            request["params"] = params | {"signature": sign(signed, r.secret)}
            await ws.send_str(json.dumps(request))
            same_shape("user data subscription by signature", await _next(ws))
            price = (await r.ok("GET", "/api/v3/avgPrice", signed=False, symbol="BTCUSDT"))["price"]
            await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="LIMIT",
                timeInForce="GTC", quantity="0.01", price=str(round(float(price) * 0.9, 2)),
                newClientOrderId="rest-1",
            )  # fmt: skip
            new = await _next(ws)
            same_shape("executionReport NEW", new)
            assert (new["event"]["c"], new["event"]["x"], new["event"]["X"]) == (
                "rest-1", "NEW", "NEW",
            )  # fmt: skip
            same_shape("outboundAccountPosition", await _next(ws))
            await r.ok(
                "POST", "/api/v3/order", symbol="BTCUSDT", side="BUY", type="MARKET",
                quantity="0.01", newClientOrderId="rest-2",
            )  # fmt: skip
            events = [await _next(ws) for _ in range(3)]
            trade = next(e for e in events if e["event"].get("x") == "TRADE")
            same_shape("executionReport TRADE", trade)
            fill = trade["event"]
            assert (fill["c"], fill["X"], fill["z"]) == ("rest-2", "FILLED", "0.01000000")
            trades = await r.ok("GET", "/api/v3/myTrades", symbol="BTCUSDT")
            assert fill["t"] == trades[-1]["id"] and fill["n"] == trades[-1]["commission"]
            assert any(e["event"]["e"] == "outboundAccountPosition" for e in events)

    asyncio.run(go())
