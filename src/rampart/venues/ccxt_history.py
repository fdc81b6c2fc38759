"""An account's trade and order history on a ccxt exchange, as Fills with Rampart's client order
ids and as VenueOrders (reconciliation books the fills it has not seen, and tells Rampart's own
from trades made outside it by those ids).

Binance answers ``allOrders`` and ``myTrades`` for at most 24 hours between ``startTime`` and
``endTime`` (-1127 beyond) and at most 1,000 rows at a time; asked from a start time alone it
gives the oldest page after it, so a longer span read in one call misses everything after its
first page. History from a start time is therefore read in windows of 24 hours, each page by
page, up to now; other exchanges are asked once, as ccxt asks them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rampart.domain.fills import Fill
from rampart.trading.ports import VenueOrder
from rampart.venues import ccxt_mapping as mapping
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_errors import Op

if TYPE_CHECKING:
    from rampart.venues.ccxt_sync import OrderSync

WINDOW_MS = 24 * 3_600_000
"""Binance's longest span between startTime and endTime."""
PAGE = 1000
"""Binance's most rows per answer."""
AHEAD_MS = 60_000
"""The last window reaches this far past the Clock's now (the exchange's clock may be ahead)."""

Page = Callable[[int, int, int], Awaitable[list[dict[str, Any]]]]
"""``page(start_ms, end_ms, limit)``: the rows from start to end, oldest first."""


async def paged(page: Page, since: int, until: int) -> list[dict[str, Any]]:
    """Every row from ``since`` to ``until``, read in windows and pages Binance accepts, each
    row once (by id)."""
    rows: dict[str, dict[str, Any]] = {}
    start = since
    while start <= until:
        end = min(start + WINDOW_MS, until)
        cursor = start
        while True:
            batch = await page(cursor, end, PAGE)
            new = [r for r in batch if str(r.get("id")) not in rows]
            rows.update((str(r.get("id")), r) for r in batch)
            if len(batch) < PAGE:
                break
            last = max(int(r.get("timestamp") or cursor) for r in batch)
            # Rows of the last millisecond may go on in the next page: start again at it, and
            # step past it only when a page brought nothing new.
            cursor = last if new and last > cursor else last + 1
            if cursor > end:
                break
        start = end + 1
    return sorted(rows.values(), key=lambda r: (r.get("timestamp") or 0, str(r.get("id"))))


def _windowed(sync: OrderSync, since: int | None) -> bool:
    return since is not None and sync.exchange_id == "binance"


async def account_trades(
    sync: OrderSync, client: Any, symbol: str, since: int | None, limit: int | None
) -> list[dict[str, Any]]:
    if not _windowed(sync, since) or since is None:
        return await sync.trades(client, symbol, since, limit)

    async def page(start: int, end: int, most: int) -> list[dict[str, Any]]:
        return await sync.trades(client, symbol, start, most, {"endTime": end})

    rows = await paged(page, since, sync.clock.now_ms() + AHEAD_MS)
    return rows if limit is None else rows[-limit:]


async def account_orders(
    sync: OrderSync, client: Any, symbol: str, since: int | None, limit: int | None
) -> list[dict[str, Any]]:
    """Orders of any status on one market, oldest first: from ``since`` on (the last
    ``limit`` of them), or else the newest ``limit``."""

    async def page(start: int | None, end: int | None, most: int | None) -> list[dict[str, Any]]:
        params = {} if end is None else {"endTime": end}
        return await sync.caller.call(
            client,
            "fetch_orders",
            Op.READ,
            lambda: client.fetch_orders(symbol, start, most, params),
            check=mapping.check_orders,
            lane=Lane.RECONCILE,
        )

    if not _windowed(sync, since) or since is None:
        return await page(since, None, limit)
    rows = await paged(page, since, sync.clock.now_ms() + AHEAD_MS)
    return rows if limit is None else rows[-limit:]


async def recent_orders(
    sync: OrderSync, account_id: str, symbol: str, since: int | None, limit: int | None
) -> list[VenueOrder]:
    client = sync.clients.client(account_id)
    orders = await account_orders(sync, client, symbol, since, limit)
    return [mapping.venue_order(o) for o in orders]


async def account_fills(
    sync: OrderSync, account_id: str, symbol: str, since_ms: int | None, limit: int | None
) -> list[Fill]:
    client = sync.clients.client(account_id)
    trades = await account_trades(sync, client, symbol, since_ms, limit)
    orders = await account_orders(sync, client, symbol, since_ms, None)
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
            lane=Lane.RECONCILE,
        )
    inst = sync.markets.instrument(symbol)
    await sync.price_fees(account_id, trades, inst)
    fills: list[Fill] = []
    for trade in trades:
        order = by_id.get(str(trade.get("order")))
        client_id = str(order.get("clientOrderId")) if order else ""
        fills.append(sync.to_fill(trade, account_id, client_id, inst))
    return fills
