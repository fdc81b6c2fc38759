"""Binance signed spot endpoints: account, orders, open/all orders, trades and OCO order lists."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from rampart.domain.errors import present
from rampart.domain.orders import Side
from rampart.venues.book import BookOrder
from rampart_testkit.simulator import binance_codes as codes
from rampart_testkit.simulator import wire
from rampart_testkit.simulator.exchange import SUPPORTED_TYPES, ApiAccount, OrderRequest
from rampart_testkit.simulator.routes_public import int_param
from rampart_testkit.simulator.server import Params, SimContext, signed

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_NEEDS = {
    "MARKET": (),
    "LIMIT": ("timeInForce", "quantity", "price"),
    "LIMIT_MAKER": ("quantity", "price"),
    "STOP_LOSS": ("quantity", "stopPrice"),
    "STOP_LOSS_LIMIT": ("timeInForce", "quantity", "price", "stopPrice"),
}
_TIME_IN_FORCE = ("GTC",)
RESP_TYPES = ("ACK", "RESULT", "FULL")


def decimal_param(params: Params, name: str, required: bool = False) -> Decimal | None:
    raw = params.get(name)
    if raw is None:
        if required:
            raise codes.mandatory(name)
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise codes.illegal(name) from None
    if not value.is_finite():
        raise codes.illegal(name)
    return value


def new_client_id() -> str:
    """An id the exchange makes when the request names none (Binance makes 22 characters)."""
    return "sim" + secrets.token_hex(10)


def client_id_param(params: Params, name: str) -> str:
    value = params.get(name)
    if value is None:
        return new_client_id()
    if not _CLIENT_ID.match(value):
        raise codes.illegal(name)
    return value


def side_param(params: Params) -> Side:
    raw = params.get("side")
    if raw is None:
        raise codes.mandatory("side")
    if raw not in ("BUY", "SELL"):
        raise codes.BinanceError(codes.INVALID_SIDE, "Invalid side.")
    return Side.BUY if raw == "BUY" else Side.SELL


def type_param(params: Params, name: str = "type") -> str:
    raw = params.get(name)
    if raw is None:
        raise codes.mandatory(name)
    if raw not in SUPPORTED_TYPES:
        raise codes.BinanceError(codes.INVALID_ORDER_TYPE, "Invalid orderType.")
    return raw


def order_request(
    symbol: str,
    side: Side,
    kind: str,
    params: Params,
    names: dict[str, str],
    client_id: str,
) -> OrderRequest:
    """Check one order's fields; ``names`` maps quantity/price/stopPrice/timeInForce to the
    request's parameter names (they differ between single orders and OCO legs)."""
    trailing = int_param(params, names.get("trailingDelta", "trailingDelta"))
    for field in _NEEDS[kind]:
        if field == "stopPrice" and trailing is not None:
            continue  # a trailing stop may go without a stop price
        if params.get(names[field]) is None:
            raise codes.mandatory(names[field])
    for field in ("price", "stopPrice", "timeInForce"):
        if field not in _NEEDS[kind] and params.get(names[field]) is not None:
            if kind == "LIMIT_MAKER" and field == "timeInForce":
                continue
            raise codes.not_required(names[field])
    tif = params.get(names["timeInForce"])
    if tif is not None and tif not in _TIME_IN_FORCE:
        raise codes.BinanceError(codes.INVALID_TIF, "Invalid timeInForce.")
    qty = decimal_param(params, names["quantity"])
    quote_qty = None
    if kind == "MARKET":
        quote_qty = decimal_param(params, "quoteOrderQty")
        if (qty is None) == (quote_qty is None):
            raise codes.BinanceError(
                codes.MANDATORY_PARAM,
                "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
            )
    return OrderRequest(
        symbol=symbol,
        side=side,
        binance_type=kind,
        client_id=client_id,
        qty=qty,
        price=decimal_param(params, names["price"]),
        stop_price=decimal_param(params, names["stopPrice"]),
        time_in_force=tif or ("GTC" if kind in ("LIMIT", "STOP_LOSS_LIMIT") else None),
        quote_qty=quote_qty,
        iceberg_qty=decimal_param(params, names.get("icebergQty", "icebergQty")),
        trailing_delta=trailing,
    )


SINGLE = {
    "quantity": "quantity",
    "price": "price",
    "stopPrice": "stopPrice",
    "timeInForce": "timeInForce",
}


WINDOW_HOURS = 24
"""The longest span between startTime and endTime Binance answers for allOrders and myTrades."""


def _window(params: Params) -> tuple[int | None, int | None]:
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    if start is not None and end is not None and end - start > WINDOW_HOURS * 3_600_000:
        raise codes.window_too_long(WINDOW_HOURS)
    return start, end


def _limit(params: Params, default: int = 500, most: int = 1000) -> int:
    limit = present(int_param(params, "limit", default), "the limit (it has a default)")
    if not 1 <= limit <= most:
        raise codes.illegal("limit")
    return limit


# -- account and orders -----------------------------------------------------------------------


def account(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    omit = (params.get("omitZeroBalances") or "").lower() == "true"
    return wire.account(ctx.exchange, acct.account_id, omit)


def new_order(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    side = side_param(params)
    kind = type_param(params)
    client_id = client_id_param(params, "newClientOrderId")
    resp_type = params.get("newOrderRespType") or ("FULL" if kind in ("MARKET", "LIMIT") else "ACK")
    if resp_type not in RESP_TYPES:
        raise codes.illegal("newOrderRespType")
    req = order_request(symbol, side, kind, params, SINGLE, client_id)
    ctx.received(acct.account_id, client_id)
    booked, fills = ex.place(acct, req)
    return wire.placed(ex, booked, fills, resp_type)


def _order_of(ctx: SimContext, params: Params, acct: ApiAccount, missing: Any) -> BookOrder:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    order_id = int_param(params, "orderId")
    found = ex.find(acct, symbol, order_id, params.get("origClientOrderId"))
    if found is None:
        raise missing()
    return found


def get_order(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    return wire.order(ctx.exchange, _order_of(ctx, params, acct, codes.no_such_order))


def cancel_order(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    order = _order_of(ctx, params, acct, codes.unknown_order)
    cancel_id = client_id_param(params, "newClientOrderId")  # the cancel's own id
    ctx.exchange.cancel(acct, order.symbol, order)
    return wire.canceled(ctx.exchange, order, cancel_id)


def open_orders(ctx: SimContext, params: Params, acct: ApiAccount) -> list[dict[str, Any]]:
    ex = ctx.exchange
    raw = params.get("symbol")
    symbol = ex.symbol_of(raw) if raw is not None else None
    return [wire.order(ex, o) for o in ex.open_orders(acct, symbol)]


def cancel_open_orders(ctx: SimContext, params: Params, acct: ApiAccount) -> list[Any]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    out: list[Any] = []
    for order in ex.open_orders(acct, symbol):
        if order.is_open:  # an OCO partner may have gone with its leg
            for gone in ex.cancel(acct, symbol, order):
                out.append(wire.canceled(ex, gone, new_client_id()))
    return out


def all_orders(ctx: SimContext, params: Params, acct: ApiAccount) -> list[dict[str, Any]]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    from_id = int_param(params, "orderId")
    start, end = _window(params)
    limit = _limit(params)
    orders = [
        o
        for o in ex.all_orders(acct, symbol)
        if (from_id is None or o.seq >= from_id)
        and (start is None or o.created_ts >= start)
        and (end is None or o.created_ts <= end)
    ]
    chosen = orders[:limit] if from_id is not None or start is not None else orders[-limit:]
    return [wire.order(ex, o) for o in chosen]


def my_trades(ctx: SimContext, params: Params, acct: ApiAccount) -> list[dict[str, Any]]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    order_id = int_param(params, "orderId")
    from_id = int_param(params, "fromId")
    start, end = _window(params)
    limit = _limit(params)
    trades = [
        t
        for t in ex.trades[acct.account_id]
        if t.symbol == symbol
        and (order_id is None or t.order_id == order_id)
        and (from_id is None or t.trade_id >= from_id)
        and (start is None or t.time >= start)
        and (end is None or t.time <= end)
    ]
    chosen = trades[:limit] if from_id is not None or start is not None else trades[-limit:]
    return [wire.trade(ex, t) for t in chosen]


def trade_fees(ctx: SimContext, params: Params, acct: ApiAccount) -> list[dict[str, Any]]:
    ex = ctx.exchange
    fees = ex.core.fees
    raw = params.get("symbol")
    symbols = [ex.symbol_of(raw)] if raw is not None else list(ex.core.instruments)
    return [
        {
            "symbol": ex.ids[s],
            "makerCommission": wire.num(fees.maker),
            "takerCommission": wire.num(fees.taker),
        }
        for s in symbols
    ]


def register(app: web.Application) -> None:
    from rampart_testkit.simulator import routes_amend, routes_keys, routes_oco

    r = app.router
    r.add_get("/api/v3/account", signed(account))
    r.add_post("/api/v3/order", signed(new_order))
    r.add_get("/api/v3/order", signed(get_order))
    r.add_delete("/api/v3/order", signed(cancel_order))
    r.add_get("/api/v3/openOrders", signed(open_orders))
    r.add_delete("/api/v3/openOrders", signed(cancel_open_orders))
    r.add_get("/api/v3/allOrders", signed(all_orders))
    r.add_get("/api/v3/myTrades", signed(my_trades))
    r.add_get("/sapi/v1/asset/tradeFee", signed(trade_fees))
    r.add_get("/sapi/v1/account/apiRestrictions", signed(routes_keys.api_restrictions))
    routes_oco.register(app)
    routes_amend.register(app)
