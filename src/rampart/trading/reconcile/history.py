"""Reconciliation: orders the books cannot settle, resolved from the venue's trade history.

An order the books hold as NEW or UNKNOWN blocks the balance comparison of its account (the
balances are only compared once every order is settled, :func:`.balances.settled_read`). The
venue normally settles it by its client order id; when it cannot (the exchange no longer finds
the order by that id, or the books restored it from a checkpoint as sent while the venue takes
it for acknowledged and waits for it to reappear), every pass would say "still unconfirmed"
and heal nothing, for good.

So once such an order is older than the grace period, each pass reads the account's trades on
its market (``fetchMyTrades``, with the client ids the venue maps them to): trades of the order
are booked as its fills and the order is closed: filled, or expired with what it filled. With
no trade of it, it is left for :data:`SETTLE_AFTER_PASSES` passes (a trade the exchange lists
late), then closed as never placed. Either way it is a repair in the audit trail, of the one kind
:data:`SETTLED` (its detail says which), logged as an error and paged as P1
(``OrderSettledFromHistory``): an order whose fate only its trades could tell is worth an
operator's look, and one closed for want of any trade is a judgement the venue did not confirm.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import structlog

from rampart.domain.errors import RampartError
from rampart.domain.fills import Fill
from rampart.domain.orders import Order, OrderStatus
from rampart.trading.account import AccountRuntime
from rampart.trading.ports import VenueReport
from rampart.trading.reconcile import books
from rampart.trading.reconcile.context import FILL_MARGIN_MS, RunContext

log = structlog.get_logger("rampart.reconcile")

SETTLED = "order_settled_from_history"
"""The repair kind of an order settled here, with its trades or closed for want of any."""
SETTLE_AFTER_PASSES = 3
"""Passes an unconfirmed order with no trade in the venue's history waits before it is closed
as never placed (an exchange may list a trade a little after it happened)."""


class Unconfirmed:
    """Settles, during one pass, the orders of an account that stayed unconfirmed past the
    grace period. ``passes`` outlives the pass (the reconciler's): how many passes have looked
    for each order's trades and found none."""

    def __init__(self, run: RunContext, grace_ms: int, passes: Counter[str]) -> None:
        self.run = run
        self.grace_ms = grace_ms
        self.passes = passes

    async def settle(self, acct: AccountRuntime) -> None:
        for order in list(acct.orders.values()):
            if order.status in books.UNSETTLED and self.run.now - order.created_at >= self.grace_ms:
                await self._settle(acct, order)
        await self.run.engine.executor.drain()

    async def _settle(self, acct: AccountRuntime, order: Order) -> None:
        run, cid = self.run, order.client_id
        since = max(order.created_at - FILL_MARGIN_MS, 0)
        try:
            async with run.reading():
                listed = await run.venue.fetch_fills(acct.account_id, order.symbol, since)
        except RampartError as exc:
            run.differ(acct.account_id, f"order {cid}'s trades could not be read: {exc.message}")
            return
        fills = sorted(
            (f for f in listed if f.client_id == cid and not acct.fill_seen(f.fill_id)),
            key=lambda f: (f.ts, f.fill_id),
        )
        self.passes[cid] += 1
        if not fills and self.passes[cid] < SETTLE_AFTER_PASSES:
            return  # still unconfirmed this pass (the balance step says so)
        del self.passes[cid]
        self._unfollow(cid)
        filled = self._book(acct, order, fills)
        if filled > 0:
            detail = (
                f"Order {cid} stayed {order.status.value}: the venue could not settle it by its "
                f"client order id; its trade history holds {len(fills)} trade(s) of it, "
                f"{filled} of {order.qty} filled, booked as its fills"
            )
        else:
            detail = (
                f"Order {cid} stayed {order.status.value} for {SETTLE_AFTER_PASSES} "
                "reconciliation passes and the venue's trade history holds no trade of it: "
                "closed as never placed"
            )
        if filled < order.qty:
            status = OrderStatus.EXPIRED if filled > 0 else OrderStatus.REJECTED
            why = f"{detail}; the rest is not on the venue."
            run.deliver(VenueReport(acct.account_id, cid, status, run.now, reason=why))
        log.error("unconfirmed_order_settled", account_id=acct.account_id, order=cid, filled=filled)
        run.repair(acct.account_id, SETTLED, detail + ".", cid, order.symbol)

    def _book(self, acct: AccountRuntime, order: Order, fills: list[Fill]) -> Decimal:
        """Queue ``fills`` as the order's executions (after its acknowledgement); the quantity
        the order has filled once they are booked."""
        run, cid = self.run, order.client_id
        if fills and order.status in books.UNSETTLED:
            run.deliver(VenueReport(acct.account_id, cid, OrderStatus.SUBMITTED, run.now))
        filled = order.filled_qty
        for fill in fills:
            if filled + fill.qty > order.qty:
                run.differ(acct.account_id, f"fill {fill.fill_id} exceeds order {cid}'s size.")
                break
            filled += fill.qty
            status = OrderStatus.FILLED if filled == order.qty else OrderStatus.PARTIALLY_FILLED
            run.deliver(VenueReport(acct.account_id, cid, status, fill.ts, fill))
        return filled

    def _unfollow(self, client_id: str) -> None:
        """Settled here: the venue stops asking the exchange about it (it would look for it,
        and miss it, on every poll). Only venues that follow orders in a tracker have one."""
        tracker = getattr(self.run.venue, "tracker", None)
        if tracker is not None and tracker.get(client_id) is not None:
            tracker.drop(client_id)
