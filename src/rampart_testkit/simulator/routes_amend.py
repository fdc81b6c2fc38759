"""Binance's "Order Amend Keep Priority": ``PUT /api/v3/order/amend/keepPriority``.

What Binance publishes (rest-api.md, faqs/order_amend_keep_priority.md, errors.md), kept here:

- it only lowers an open order's quantity: ``newQty`` above 0 and below the order's quantity
  ("Order amend (quantity increase) is not supported."; the same quantity is "The requested
  action would change no state; rejecting"), on the lot (``Filter failure: LOT_SIZE``);
- same order id, same price, same place in the book; the client id becomes ``newClientOrderId``;
- the two legs of an OCO always share one quantity, so amending either leg amends both;
- the answer: ``transactTime``, ``executionId``, ``amendedOrder`` and, for a list member,
  ``listStatus``; the user data stream sends an ``executionReport`` with ``"x": "REPLACED"``
  for each order amended (see :mod:`rampart_testkit.simulator.streams`).

Not simulated: a new client id. Binance gives the amended order ``newClientOrderId``, or a
random one when none is sent; the simulator refuses (-2038) any amend that does not keep the
order's own id, so a client that forgets to send it (and would lose its order's id on Binance)
is caught here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from rampart.domain.money import ZERO
from rampart.venues.book import BookOrder
from rampart_testkit.simulator import binance_codes as codes
from rampart_testkit.simulator import wire
from rampart_testkit.simulator.exchange import ApiAccount, SimExchange
from rampart_testkit.simulator.routes_public import int_param
from rampart_testkit.simulator.routes_trading import decimal_param
from rampart_testkit.simulator.server import Params, SimContext, signed

ORDER_AMEND_REJECTED = -2038
INCREASE = "Order amend (quantity increase) is not supported."
NO_CHANGE = "The requested action would change no state; rejecting"


def _refused(msg: str) -> codes.BinanceError:
    return codes.BinanceError(ORDER_AMEND_REJECTED, msg)


def amend_keep_priority(ctx: SimContext, params: Params, acct: ApiAccount) -> dict[str, Any]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    new_qty = decimal_param(params, "newQty", required=True)
    if new_qty is None or new_qty <= ZERO:
        raise codes.mandatory("newQty")
    found = ex.find(acct, symbol, int_param(params, "orderId"), params.get("origClientOrderId"))
    if found is None or not found.is_open:
        raise _refused("Unknown order sent.")
    if params.get("newClientOrderId") != found.client_id:
        raise _refused(
            "This simulator keeps an amended order's client id: send it as newClientOrderId."
        )
    if new_qty == found.qty:
        raise _refused(NO_CHANGE)
    if new_qty > found.qty:
        raise _refused(INCREASE)
    inst = ex.core.instruments[symbol]
    # At or below what has filled is not published; refused here rather than guessed.
    if not inst.qty_on_lot(new_qty) or new_qty < inst.min_qty or new_qty <= found.filled_qty:
        raise codes.BinanceError(codes.FILTER_FAILURE, "Filter failure: LOT_SIZE")
    meta = ex.order_meta(acct.account_id, found)
    olist = next(
        (o for o in ex.order_lists(acct) if o.list_id == meta.list_id), None
    ) if meta.list_id >= 0 else None  # fmt: skip
    legs = [o for o in ex.list_orders(olist) if o.is_open] if olist is not None else [found]
    lower(ex, legs, new_qty)
    out: dict[str, Any] = {
        "transactTime": ex.now_ms,
        "executionId": ex.counters.fills + ex.counters.amends,
        "amendedOrder": amended(ex, found),
    }
    if olist is not None:
        status = wire.order_list(ex, olist, reports=False)
        out["listStatus"] = {
            k: status[k]
            for k in (
                "orderListId", "contingencyType", "listOrderStatus", "listClientOrderId",
                "symbol", "orders",
            )
        }  # fmt: skip
    return out


def lower(ex: SimExchange, legs: list[BookOrder], new_qty: Decimal) -> None:
    """Every leg of the list (an OCO's share one quantity) ends at ``new_qty``; what they lock
    follows by itself (the book computes locks from the open orders)."""
    for leg in legs:
        leg.qty = new_qty
        leg.updated_ts = ex.now_ms
    ex.counters.amends += 1
    ex.core.screen.forget(legs[0].symbol)  # the book's cached view of resting orders changed


def amended(ex: SimExchange, o: BookOrder) -> dict[str, Any]:
    """``amendedOrder``: the order as it is now, in the published example's fields."""
    meta = ex.order_meta(o.account_id, o)
    full = wire.order(ex, o)
    out = {
        "symbol": full["symbol"],
        "orderId": o.seq,
        "orderListId": meta.list_id,
        "origClientOrderId": o.client_id,
        "clientOrderId": o.client_id,
        "price": full["price"],
        "qty": wire.num(o.qty),
        "executedQty": full["executedQty"],
        "preventedQty": wire.num(ZERO),
        "quoteOrderQty": wire.num(meta.quote_qty),
        "cumulativeQuoteQty": full["cummulativeQuoteQty"],
        "status": full["status"],
        "timeInForce": full["timeInForce"],
        "type": full["type"],
        "side": full["side"],
        "workingTime": full["workingTime"],
        "selfTradePreventionMode": full["selfTradePreventionMode"],
    }
    if o.stop_price is not None:
        out["stopPrice"] = full["stopPrice"]  # a conditional field: stop orders only
    return out


def register(app: web.Application) -> None:
    app.router.add_put("/api/v3/order/amend/keepPriority", signed(amend_keep_priority))
