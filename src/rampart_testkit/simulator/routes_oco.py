"""Binance OCO order lists: ``orderList/oco`` (current), ``order/oco`` (older, still in ccxt's
implicit API), and reading and canceling order lists.

The matching core holds OCOs as a sell stop below and a sell limit above, sharing the coins;
a buy OCO is refused by it (-2010).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rampart_testkit.simulator import binance_codes as codes
from rampart_testkit.simulator import wire
from rampart_testkit.simulator.exchange import ApiAccount, OrderList
from rampart_testkit.simulator.routes_public import int_param
from rampart_testkit.simulator.routes_trading import (
    client_id_param,
    order_request,
    side_param,
    type_param,
)
from rampart_testkit.simulator.server import Params, SimContext, signed

_STOP_KINDS = ("STOP_LOSS", "STOP_LOSS_LIMIT")


def _leg_names(prefix: str) -> dict[str, str]:
    return {
        "quantity": "quantity",
        "price": f"{prefix}Price",
        "stopPrice": f"{prefix}StopPrice",
        "timeInForce": f"{prefix}TimeInForce",
        "icebergQty": f"{prefix}IcebergQty",
        "trailingDelta": f"{prefix}TrailingDelta",
    }


def _respond(ctx: SimContext, olist: OrderList) -> dict[str, Any]:
    # Binance always answers an order list with its orders' reports.
    return wire.order_list(ctx.exchange, olist, reports=True)


def new_oco(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    """POST /api/v3/orderList/oco: an ``above`` and a ``below`` leg."""
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    side = side_param(params)
    above_kind = type_param(params, "aboveType")
    below_kind = type_param(params, "belowType")
    list_id = client_id_param(params, "listClientOrderId")
    above = order_request(
        symbol, side, above_kind, params, _leg_names("above"),
        client_id_param(params, "aboveClientOrderId"),
    )  # fmt: skip
    below = order_request(
        symbol, side, below_kind, params, _leg_names("below"),
        client_id_param(params, "belowClientOrderId"),
    )  # fmt: skip
    if params.get("quantity") is None:
        raise codes.mandatory("quantity")
    # A sell OCO: the stop is below the market, the take-profit above; the core checks the rest.
    stop, take = (below, above) if below_kind in _STOP_KINDS else (above, below)
    if take.binance_type != "LIMIT_MAKER" or stop.binance_type not in _STOP_KINDS:
        raise codes.BinanceError(
            codes.NEW_ORDER_REJECTED, "An OCO needs a LIMIT_MAKER leg and a STOP_LOSS leg."
        )
    ctx.received(acct.account_id, stop.client_id, take.client_id)
    olist = ex.place_oco(acct, list_id, stop, take)
    return _respond(ctx, olist)


def new_oco_legacy(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    """POST /api/v3/order/oco: ``price`` for the limit leg, ``stopPrice`` (+``stopLimitPrice``)."""
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    side = side_param(params)
    for name in ("quantity", "price", "stopPrice"):
        if params.get(name) is None:
            raise codes.mandatory(name)
    list_id = client_id_param(params, "listClientOrderId")
    stop_kind = "STOP_LOSS_LIMIT" if params.get("stopLimitPrice") is not None else "STOP_LOSS"
    stop_names = {
        "quantity": "quantity",
        "price": "stopLimitPrice",
        "stopPrice": "stopPrice",
        "timeInForce": "stopLimitTimeInForce",
        "icebergQty": "stopIcebergQty",
        "trailingDelta": "trailingDelta",
    }
    take_names = {
        "quantity": "quantity",
        "price": "price",
        "stopPrice": "limitStopPrice",
        "timeInForce": "limitTimeInForce",
        "icebergQty": "limitIcebergQty",
        "trailingDelta": "limitTrailingDelta",
    }
    stop = order_request(
        symbol, side, stop_kind, params, stop_names,
        client_id_param(params, "stopClientOrderId"),
    )  # fmt: skip
    take = order_request(
        symbol, side, "LIMIT_MAKER", params, take_names,
        client_id_param(params, "limitClientOrderId"),
    )  # fmt: skip
    ctx.received(acct.account_id, stop.client_id, take.client_id)
    olist = ex.place_oco(acct, list_id, stop, take)
    return _respond(ctx, olist)


def _list_of(ctx: SimContext, params: Params, acct: ApiAccount, client_key: str) -> OrderList:
    list_id = int_param(params, "orderListId")
    client_id = params.get(client_key)
    if list_id is None and client_id is None:
        raise codes.BinanceError(
            codes.MANDATORY_PARAM,
            f"Param 'orderListId' or '{client_key}' must be sent, but both were empty/null!",
        )
    olist = ctx.exchange.find_list(acct, list_id, client_id)
    if olist is None:
        raise codes.BinanceError(codes.NO_SUCH_ORDER, "Order list does not exist.")
    return olist


def get_list(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    return wire.order_list(ctx.exchange, _list_of(ctx, params, acct, "origClientOrderId"), False)


def cancel_list(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    olist = _list_of(ctx, params, acct, "listClientOrderId")
    if olist.symbol != symbol:
        raise codes.BinanceError(codes.NO_SUCH_ORDER, "Order list does not exist.")
    live = [o for o in ex.list_orders(olist) if o.is_open]
    if not live:
        raise codes.BinanceError(codes.CANCEL_REJECTED, "Unknown order list sent.")
    cancel_id = client_id_param(params, "newClientOrderId")  # the cancel's own id, both legs
    ex.cancel(acct, symbol, live[0])
    return wire.order_list(ex, olist, reports=True, cancel_id=cancel_id)


def open_lists(ctx: SimContext, params: Params, acct: ApiAccount) -> list[dict[str, Any]]:
    ex = ctx.exchange
    out = []
    for olist in ex.order_lists(acct):
        if any(o.is_open for o in ex.list_orders(olist)):
            out.append(wire.order_list(ex, olist, reports=False))
    return out


def all_lists(ctx: SimContext, params: Params, acct: ApiAccount) -> list[dict[str, Any]]:
    ex = ctx.exchange
    limit = int_param(params, "limit", 500) or 500
    lists = ex.order_lists(acct)[-limit:]
    return [wire.order_list(ex, olist, reports=False) for olist in lists]


def register(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v3/orderList/oco", signed(new_oco))
    r.add_post("/api/v3/order/oco", signed(new_oco_legacy))
    r.add_get("/api/v3/orderList", signed(get_list))
    r.add_delete("/api/v3/orderList", signed(cancel_list))
    r.add_get("/api/v3/openOrderList", signed(open_lists))
    r.add_get("/api/v3/allOrderList", signed(all_lists))
