"""An account's trade history on a ccxt exchange, as Fills with Rampart's client order ids
(reconciliation books the ones it has not seen, and tells Rampart's own from trades made
outside it by those ids)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rampart.domain.fills import Fill
from rampart.venues import ccxt_mapping as mapping
from rampart.venues.ccxt_errors import Op

if TYPE_CHECKING:
    from rampart.venues.ccxt_sync import OrderSync


async def account_fills(
    sync: OrderSync, account_id: str, symbol: str, since_ms: int | None, limit: int | None
) -> list[Fill]:
    client = sync.clients.client(account_id)
    trades = await sync.trades(client, symbol, since_ms, limit)
    orders = await sync.caller.call(
        client,
        "fetch_orders",
        Op.READ,
        lambda: client.fetch_orders(symbol, since_ms, None),
        check=mapping.check_orders,
    )
    by_id = {str(o.get("id")): o for o in orders}
    # The exchange lists orders by when they were placed: a stop resting since before
    # ``since_ms`` that filled after it is not among them. Looked up one by one, or its
    # fill would carry no client id and pass for a trade made outside Rampart.
    for order_id in sorted({str(t.get("order")) for t in trades} - by_id.keys()):
        if order_id in ("", "None"):
            continue
        by_id[order_id] = await sync.caller.call(
            client,
            "fetch_order",
            Op.READ,
            lambda order_id=order_id: client.fetch_order(order_id, symbol),
            check=mapping.check_order,
        )
    inst = sync.markets.instrument(symbol)
    fills: list[Fill] = []
    for trade in trades:
        order = by_id.get(str(trade.get("order")))
        client_id = str(order.get("clientOrderId")) if order else ""
        fills.append(sync.to_fill(trade, account_id, client_id, inst))
    return fills
