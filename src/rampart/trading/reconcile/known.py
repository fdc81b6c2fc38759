"""Reconciliation, steps 1 and 2: the orders the books know, settled with the venue.

Step 1: the venue catches up on the orders it follows (fills that happened while Rampart was
away are booked with their real prices and fees, orders canceled by hand are closed, UNKNOWN
orders are resolved by client order id). Step 2: a local open order the venue does not follow
is looked up by its client order id and settled the same way; one the venue never received is
rejected once the grace period is over.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from rampart.domain.errors import RampartError
from rampart.domain.orders import Order, OrderStatus
from rampart.trading.account import AccountRuntime
from rampart.trading.ports import VenueOrder, VenueReport
from rampart.trading.reconcile import books
from rampart.trading.reconcile.context import FILL_MARGIN_MS, RunContext
from rampart.trading.reconcile.history import Unconfirmed


class KnownOrders:
    """Settles the books' own orders with the venue during one pass."""

    def __init__(self, run: RunContext, grace_ms: int, passes: Counter[str] | None = None) -> None:
        """``grace_ms``: how long an unconfirmed order may be missing from the venue before
        it is declared never arrived (a late request may still land inside the exchange's
        receive window). ``passes``: the reconciler's count, per order still unconfirmed
        after that, of the passes that found no trade of it (:mod:`.history`)."""
        self.run = run
        self.grace_ms = grace_ms
        self.unconfirmed = Unconfirmed(run, grace_ms, Counter() if passes is None else passes)

    # -- step 1: the venue's own follow-up ----------------------------------------------------

    async def catch_up(self, account_id: str | None = None) -> None:
        """Every account's orders (the sequential pass), or one account's (an overlapped one:
        what the venue reports meanwhile is held for this account until its turn)."""
        run = self.run
        try:
            async with run.reading():
                await run.venue.refresh(account_id)
        except RampartError as exc:
            run.venue_differs(f"The venue could not be polled: {exc.message}")
        run.classify_queue()
        await run.engine.executor.drain()

    # -- step 2: local orders the venue does not follow ---------------------------------------

    async def settle_from_history(self, acct: AccountRuntime) -> None:
        """Orders still unconfirmed past the grace period: their trades decide (:mod:`.history`)."""
        await self.unconfirmed.settle(acct)

    async def settle_unfollowed(self, acct: AccountRuntime) -> None:
        following = self.run.venue.following(acct.account_id)
        for order in list(acct.orders.values()):
            if order.client_id not in following:
                await self.settle_local(acct, order)

    async def settle_local(self, acct: AccountRuntime, order: Order) -> None:
        """A local open order the venue does not follow: look it up and apply what it says."""
        run = self.run
        venue = run.venue
        async with run.reading():
            found = await venue.fetch_order(acct.account_id, order.client_id)
        cid, symbol = order.client_id, order.symbol
        if found is None:
            age_ms = run.now - order.created_at
            never_acked = order.status in (OrderStatus.NEW, OrderStatus.UNKNOWN)
            if never_acked and order.filled_qty == 0:
                if order.status is OrderStatus.UNKNOWN:
                    venue.follow(order)
                if cid in venue.following(acct.account_id):
                    # The venue resolves unconfirmed orders itself, by client order id, once
                    # a late request can no longer arrive.
                    run.differ(
                        acct.account_id,
                        f"order {cid} is not on the venue (yet); the venue keeps checking it.",
                    )
                    return
                if age_ms < self.grace_ms:
                    run.differ(
                        acct.account_id,
                        f"order {cid} is not on the venue yet, {age_ms // 1000} s after it "
                        "was sent; it is checked again later.",
                    )
                    return
                status, kind = OrderStatus.REJECTED, "order_unknown_resolved"
                why = "The venue has no such order: the request never arrived."
            else:
                status, kind = OrderStatus.EXPIRED, "order_closed"
                why = "The venue no longer has this order."
            run.deliver(VenueReport(acct.account_id, cid, status, run.now, reason=why))
            run.repair(acct.account_id, kind, f"Order {cid}: {why}", cid, symbol)
            return
        if order.status in books.UNSETTLED:
            run.repair(
                acct.account_id,
                "order_unknown_resolved",
                f"Order {cid} was {order.status.value}; found on the venue by its client order "
                f"id, {found.status.value} with {found.filled_qty} of {found.qty} filled.",
                cid,
                symbol,
            )
        if order.status is OrderStatus.NEW:
            # A report moves an order on from SUBMITTED; the venue acknowledged it.
            run.deliver(
                VenueReport(
                    acct.account_id,
                    cid,
                    OrderStatus.SUBMITTED,
                    run.now,
                    venue_order_id=found.venue_order_id,
                )
            )
        booked, queued = await self.book_missing(acct, order, found)
        if found.status.terminal:
            if found.status is not OrderStatus.FILLED:
                run.deliver(
                    VenueReport(
                        acct.account_id,
                        cid,
                        found.status,
                        run.now,
                        venue_order_id=found.venue_order_id,
                        code=f"venue_{found.status.value}",
                        reason=f"The order is {found.status.value} on {venue.name}.",
                    )
                )
                canceled = found.status is OrderStatus.CANCELED
                run.repair(
                    acct.account_id,
                    "order_closed",
                    f"Order {cid} is {found.status.value} on the venue"
                    + (" (canceled there by hand)." if canceled else "."),
                    cid,
                    symbol,
                )
            return
        if order.status is OrderStatus.UNKNOWN and not queued:
            run.deliver(
                VenueReport(
                    acct.account_id,
                    cid,
                    OrderStatus.SUBMITTED,
                    run.now,
                    venue_order_id=found.venue_order_id,
                )
            )
        # Followed now (the reports queued above count as booked), so that anything that
        # cancels it while they are applied reaches the venue.
        venue.follow(books.as_booked(order, queued), booked)

    async def book_missing(
        self, acct: AccountRuntime, order: Order, found: VenueOrder
    ) -> tuple[list[str], Decimal]:
        """Queue the venue's fills of ``order`` beyond what the books hold; returns the ids of
        every fill of the order the books now account for, and the quantity queued."""
        run = self.run
        if found.filled_qty <= order.filled_qty and order.filled_qty == 0:
            return [], Decimal(0)
        since = max(order.created_at - FILL_MARGIN_MS, 0)
        async with run.reading():
            fetched = await run.venue.fetch_fills(acct.account_id, order.symbol, since)
        fills = [f for f in fetched if f.client_id == order.client_id]
        fills.sort(key=lambda f: (f.ts, f.fill_id))
        accounted: list[str] = []
        skip = order.filled_qty
        filled = order.filled_qty
        # A venue whose orders execute once (a swap sized from a price) reports the order
        # filled at the quantity it came to: that is the order's size now.
        whole = found.status is OrderStatus.FILLED and found.qty == found.filled_qty
        size = found.qty if whole else order.qty
        for fill in fills:
            if skip >= fill.qty:
                skip -= fill.qty
                accounted.append(fill.fill_id)
                continue
            if filled + fill.qty > size:
                break
            filled += fill.qty
            accounted.append(fill.fill_id)
            status = OrderStatus.FILLED if filled == size else OrderStatus.PARTIALLY_FILLED
            run.deliver(
                VenueReport(
                    acct.account_id,
                    order.client_id,
                    status,
                    fill.ts,
                    fill,
                    found.venue_order_id,
                    whole=whole and filled == size,
                )
            )
            run.repair(
                acct.account_id,
                "fill_booked",
                f"{fill.side.value} {fill.qty} at {fill.price} (fee {fill.fee}) on "
                f"{order.role.value} order {order.client_id} happened on the venue and was "
                "not yet booked.",
                order.client_id,
                order.symbol,
            )
        if filled < found.filled_qty:
            run.differ(
                acct.account_id,
                f"order {order.client_id} filled {found.filled_qty} on the venue but only "
                f"{filled} could be found in its trade history.",
            )
        return accounted, filled - order.filled_qty
