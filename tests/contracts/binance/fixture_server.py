"""A loopback server that answers Binance's spot paths with the fixtures, as Binance would:
the answer of the example chosen for the path, in its wire form (``shapes.wire``), with the
request's symbol and client order ids in it (the only fields a fixture cannot know), or an
error example when one is queued for the path. Every request is recorded with its parameters
(query and form body) for the test to compare with what Binance documents."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.contracts.binance import shapes

ANSWERS: dict[tuple[str, str], tuple[str, int | str]] = {
    ("GET", "/api/v3/exchangeInfo"): ("exchange_info", 0),
    ("GET", "/api/v3/time"): ("server_time", 0),
    ("POST", "/api/v3/order"): ("order_new", "LIMIT buy accepted"),
    ("POST", "/api/v3/orderList/oco"): ("order_list_oco", 0),
    ("DELETE", "/api/v3/order"): ("order_cancel", 0),
    ("GET", "/api/v3/order"): ("order_query", "not yet triggered"),
    ("GET", "/api/v3/openOrders"): ("open_orders", 0),
    ("GET", "/api/v3/allOrders"): ("all_orders", 0),
    ("GET", "/api/v3/myTrades"): ("my_trades", "BTC received"),
    ("GET", "/api/v3/account"): ("account", 0),
    ("GET", "/api/v3/avgPrice"): ("avg_price", 0),
    ("GET", "/api/v3/ticker/24hr"): ("ticker_24hr", 0),
    ("PUT", "/api/v3/order/amend/keepPriority"): ("order_amend_keep_priority", "list member"),
}
_ECHO = {"newClientOrderId": "clientOrderId", "origClientOrderId": "origClientOrderId"}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]


@dataclass
class FixtureServer:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    answers: dict[tuple[str, str], tuple[str, int | str]] = field(
        default_factory=lambda: dict(ANSWERS)
    )
    errors: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    """Error examples (fixture file, example name) to answer next on a path, in order."""
    changes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Values a test sets in an answer (a price the market makes, not the shape)."""
    more_symbols: list[str] = field(default_factory=list)
    """Base assets listed beside the fixture's symbol, as copies of it (BNB, to price fees)."""

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def answer(self, method: str, path: str, fixture: str, which: int | str) -> None:
        self.answers[(method, path)] = (fixture, which)

    def refuse_next(self, method: str, path: str, name: str, fixture: str = "errors") -> None:
        self.errors.setdefault((method, path), []).append((fixture, name))

    async def handle(self, request: web.Request) -> web.Response:
        params = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
        if request.body_exists:
            params.update(parse_qsl(await request.text(), keep_blank_values=True))
        key = (request.method, request.path)
        self.requests.append(Request(request.method, request.path, params))
        queued = self.errors.get(key)
        if queued:
            example = shapes.example(*queued.pop(0))
            return web.Response(
                text=json.dumps(example["response"]),
                status=example["status"],
                headers=example.get("headers", {}),
                content_type="application/json",
            )
        if key not in self.answers:
            return web.json_response({"code": -1000, "msg": "Not in the fixtures."}, status=404)
        fixture, which = self.answers[key]
        body = shapes.wire(copy.deepcopy(shapes.example(fixture, which)["response"]))
        body = _fit(body, params, self.changes.get(key, {}))
        if key == ("GET", "/api/v3/order") and "origClientOrderId" in params:
            body["clientOrderId"] = params["origClientOrderId"]  # the order asked about
        if key == ("POST", "/api/v3/orderList/oco"):
            _fit_legs(body, params)
        if key == ("GET", "/api/v3/exchangeInfo"):
            for base in self.more_symbols:
                extra = copy.deepcopy(body["symbols"][0])
                quote = extra["quoteAsset"]
                extra.update(symbol=base + quote, baseAsset=base)
                body["symbols"].append(extra)
        return web.Response(text=json.dumps(body), content_type="application/json")


def _fit(body: Any, params: dict[str, str], changes: dict[str, Any]) -> Any:
    """The request's symbol and ids in the answer; the test's values over the fixture's."""
    if isinstance(body, list):
        return [_fit(item, params, changes) for item in body]
    if not isinstance(body, dict):
        return body
    out = {
        k: _fit(v, params, changes) if isinstance(v, dict | list) else v for k, v in body.items()
    }
    if "symbol" in out and "symbol" in params:
        out["symbol"] = params["symbol"]
    for sent, answered in _ECHO.items():
        if sent in params and answered in out:
            out[answered] = params[sent]
    if "listClientOrderId" in out and "listClientOrderId" in params:
        out["listClientOrderId"] = params["listClientOrderId"]
    for name, value in changes.items():
        if name in out:
            out[name] = value
    return out


def _fit_legs(body: dict[str, Any], params: dict[str, str]) -> None:
    """An OCO's legs carry the ids the request gave them: the LIMIT_MAKER is the above leg
    here (a sell), the stop the below one."""
    ids: dict[int, str] = {}
    for report in body["orderReports"]:
        side = "above" if report["type"] == "LIMIT_MAKER" else "below"
        wanted = params.get(f"{side}ClientOrderId")
        if wanted:
            ids[report["orderId"]] = report["clientOrderId"] = wanted
    for order in body["orders"]:
        order["clientOrderId"] = ids.get(order["orderId"], order["clientOrderId"])


@asynccontextmanager
async def serve_fixtures() -> AsyncIterator[FixtureServer]:
    server = FixtureServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
