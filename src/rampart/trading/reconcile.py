"""Reconciliation: the books compared with the venue, and the venue's truth applied.

Run at start, after every reconnect and on an interval (:class:`ReconcileSchedule`,
:class:`ReconnectWatch`). For each account, in this order:

1. the venue catches up on the orders it follows (``poll``): fills that happened while Rampart
   was away are booked with their real prices and fees, orders canceled by hand on the
   exchange are closed, UNKNOWN orders are resolved by client order id;
2. local open orders the venue does not follow are looked up by client order id and settled
   the same way (an order the venue never received is rejected once the grace period is over);
3. orders on the venue that are not in the books: Rampart's own (sent after the last saved
   state, recognised by the account's client-id prefix) are adopted with their fills; anyone
   else's are reported and left alone, or canceled when ``cancel_unknown`` is set;
4. the venue's balances, read once they are consistent with the fills booked, explain what
   is left: a position sold outside Rampart closes with the exchange's own trades (exit reason
   ``external``), coins bought by hand are held apart (:mod:`.reconcile_balances`);
5. every position is protected (the executor's ``ensure_protection``): no bracket is placed
   for an account before step 4, so a position the venue no longer holds is never protected;
6. a residual difference of cash is set to the venue's figure (a deposit or withdrawal).

Every change goes through the executor's normal report path (ledger, positions, brackets and
events stay consistent) and is published as a :class:`ReconciliationRepaired` event, logged,
and counted in the returned :class:`ReconcileReport`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from rampart.domain.errors import RampartError
from rampart.domain.events import ReconciliationRepaired
from rampart.domain.fills import Balance
from rampart.domain.orders import Order, OrderStatus
from rampart.trading import reconcile_balances as balances_step
from rampart.trading import reconcile_books as books
from rampart.trading.account import AccountRuntime
from rampart.trading.ports import ReconcilableVenue, VenueOrder, VenueReport
from rampart.trading.reconcile_adopt import FILL_MARGIN_MS, AdoptionSteps
from rampart.trading.reconcile_schedule import ReconcileSchedule, ReconnectWatch

if TYPE_CHECKING:
    from rampart.trading.engine import Engine

log = structlog.get_logger("rampart.reconcile")

__all__ = ["ReconcileReport", "ReconcileSchedule", "Reconciler", "ReconnectWatch"]

DEFAULT_TOLERANCE = Decimal("1e-8")
"""Balances closer than this are equal: exchanges publish balances to 8 decimals and ccxt
carries them as floats, so a difference below it is notation, not money."""


@dataclass
class ReconcileReport:
    ts: int
    accounts: list[str]
    reason: str = "interval"
    repairs: Counter[str] = field(default_factory=Counter)
    """Repairs applied, by kind."""
    differences: list[str] = field(default_factory=list)
    """What still differs from the venue after the repairs, in words (empty: books match)."""

    @property
    def matches(self) -> bool:
        return not self.differences

    @property
    def total_repairs(self) -> int:
        return sum(self.repairs.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "reason": self.reason,
            "accounts": len(self.accounts),
            "repairs": dict(self.repairs),
            "matches": self.matches,
            "differences": list(self.differences),
        }


class Reconciler:
    def __init__(
        self,
        *,
        cancel_unknown: bool = False,
        unknown_grace_s: float = 30.0,
        lookback_s: float = 86_400.0,
        recent_lookback_s: float = 900.0,
        tolerance: Decimal = DEFAULT_TOLERANCE,
    ) -> None:
        """``unknown_grace_s``: how long an unconfirmed order may be missing from the venue
        before it is declared never arrived (a late request may still land inside the
        exchange's receive window). ``lookback_s``: how far back orders and fills are read
        when looking for ones the books do not know at start (after a restart);
        ``recent_lookback_s`` on the other runs (a running engine loses no orders, so only an
        order whose answer was lost very recently can be missing)."""
        self.cancel_unknown = cancel_unknown
        self.grace_ms = int(unknown_grace_s * 1000)
        self.lookback_ms = int(lookback_s * 1000)
        self.recent_lookback_ms = int(recent_lookback_s * 1000)
        self.tolerance = tolerance
        self.runs = 0
        self.totals: Counter[str] = Counter()
        self._reported_foreign: set[str] = set()

    # -- entry point --------------------------------------------------------------------------

    async def run(
        self, engine: Engine, accounts: Iterable[str] | None = None, reason: str = "interval"
    ) -> ReconcileReport:
        """Reconcile ``accounts`` (default: all) with the venue; never raises for the venue's
        failures: what could not be checked is listed as a difference."""
        ids = [a for a in (accounts if accounts is not None else engine.accounts)]
        report = ReconcileReport(engine.clock.now_ms(), ids, reason)
        self.runs += 1
        venue = engine.venue
        if not isinstance(venue, ReconcilableVenue):
            report.differences.append(f"The {venue.name} venue cannot be reconciled.")
            return report
        run = _Run(self, engine, venue, report)
        held = engine.executor.hold_protection
        held.update(a for a in ids if a in engine.accounts)
        try:
            for account_id in ids:
                if account_id in engine.accounts:
                    await run.reserve_ids(engine.accounts[account_id])
            await run.catch_up()
            for account_id in ids:
                acct = engine.accounts.get(account_id)
                if acct is None:
                    report.differences.append(f"{account_id}: no such account in the engine.")
                    continue
                try:
                    await run.account(acct)
                except RampartError as exc:
                    report.differences.append(
                        f"{account_id}: could not be reconciled: {exc.message}"
                    )
                    await protect(engine, acct)
                await engine.executor.drain()
        finally:
            held.difference_update(ids)
        self.totals.update(report.repairs)
        log.info(
            "reconciled",
            reason=reason,
            accounts=len(ids),
            repairs=dict(report.repairs),
            matches=report.matches,
            differences=len(report.differences),
        )
        return report


async def protect(engine: Engine, acct: AccountRuntime) -> None:
    """Step 5: lift the account's hold and protect every position it still has."""
    engine.executor.hold_protection.discard(acct.account_id)
    for symbol in list(acct.ledger.positions):
        await engine.executor.ensure_protection(acct, symbol)
    await engine.executor.drain()


class _Run(AdoptionSteps):
    """One reconciliation pass: shared state of the steps."""

    def __init__(
        self, owner: Reconciler, engine: Engine, venue: ReconcilableVenue, report: ReconcileReport
    ) -> None:
        self.owner = owner
        self.engine = engine
        self.venue = venue
        self.report = report
        self.now = engine.clock.now_ms()
        self.adopt_any_age = report.reason == "start"
        self.known_seq: dict[str, int] = {}
        self.fresh_from: dict[str, int] = {}
        self.lookback_ms = owner.lookback_ms if self.adopt_any_age else owner.recent_lookback_ms

    # -- reporting ----------------------------------------------------------------------------

    def repair(
        self, account_id: str, kind: str, detail: str, client_id: str | None, symbol: str | None
    ) -> None:
        self.report.repairs[kind] += 1
        log.info(
            "reconciliation_repair",
            account_id=account_id,
            kind=kind,
            order=client_id,
            symbol=symbol,
            detail=detail,
        )
        self.engine.bus.publish(
            ReconciliationRepaired(self.now, account_id, kind, client_id, symbol, detail)
        )

    def differ(self, account_id: str, text: str) -> None:
        self.report.differences.append(f"{account_id}: {text}")

    def deliver(self, report: VenueReport) -> None:
        """Queue a report exactly as the venue would have delivered it."""
        self.engine.executor.deliver(report)

    # -- step 1: the venue's own follow-up ----------------------------------------------------

    async def catch_up(self) -> None:
        try:
            await self.venue.refresh()
        except RampartError as exc:
            self.report.differences.append(f"The venue could not be polled: {exc.message}")
        self.classify_queue()
        await self.engine.executor.drain()

    def classify_queue(self) -> None:
        """Name the repairs among the reports the venue queued while catching up."""
        resolved: set[str] = set()
        for rep in self.engine.executor.pending():
            acct = self.engine.accounts.get(rep.account_id)
            order = acct.orders.get(rep.client_id) if acct else None
            if acct is None or order is None:
                continue
            if rep.fill is not None:
                fill = rep.fill
                self.repair(
                    acct.account_id,
                    "fill_booked",
                    f"{fill.side.value} {fill.qty} at {fill.price} (fee {fill.fee}) on "
                    f"{order.role.value} order {order.client_id} happened on the venue and "
                    "was not yet booked.",
                    order.client_id,
                    order.symbol,
                )
            elif order.status is OrderStatus.UNKNOWN and rep.status is not OrderStatus.UNKNOWN:
                if order.client_id in resolved:
                    continue
                resolved.add(order.client_id)
                self.repair(
                    acct.account_id,
                    "order_unknown_resolved",
                    f"Order {order.client_id} was unknown; the venue says it is "
                    f"{rep.status.value}.",
                    order.client_id,
                    order.symbol,
                )
            elif rep.status.terminal and rep.client_id not in acct.pending_cancel:
                self.repair(
                    acct.account_id,
                    "order_closed",
                    f"Order {order.client_id} is {rep.status.value} on the venue"
                    + (" (canceled there by hand)." if rep.status is OrderStatus.CANCELED else "."),
                    order.client_id,
                    order.symbol,
                )

    # -- per account --------------------------------------------------------------------------

    async def account(self, acct: AccountRuntime) -> None:
        following = self.venue.following(acct.account_id)
        for order in list(acct.orders.values()):
            if order.client_id not in following:
                await self.settle_local(acct, order)
        await self.engine.executor.drain()
        venue_open = await self.venue.fetch_open_orders(acct.account_id)
        await self.unknown_orders(acct, venue_open)
        await self.engine.executor.drain()
        balances = await balances_step.settled_balances(self, acct)
        if balances is not None:
            await balances_step.explain_positions(self, acct, balances)
        await protect(self.engine, acct)
        if balances is not None:
            self.residual_cash(acct, balances)
        await self.compare(acct)

    async def settle_local(self, acct: AccountRuntime, order: Order) -> None:
        """A local open order the venue does not follow: look it up and apply what it says."""
        found = await self.venue.fetch_order(acct.account_id, order.client_id)
        cid, symbol = order.client_id, order.symbol
        if found is None:
            age_ms = self.now - order.created_at
            never_acked = order.status in (OrderStatus.NEW, OrderStatus.UNKNOWN)
            if never_acked and order.filled_qty == 0:
                if order.status is OrderStatus.UNKNOWN:
                    self.venue.follow(order)
                if cid in self.venue.following(acct.account_id):
                    # The venue resolves unconfirmed orders itself, by client order id, once
                    # a late request can no longer arrive.
                    self.differ(
                        acct.account_id,
                        f"order {cid} is not on the venue (yet); the venue keeps checking it.",
                    )
                    return
                if age_ms < self.owner.grace_ms:
                    self.differ(
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
            self.deliver(VenueReport(acct.account_id, cid, status, self.now, reason=why))
            self.repair(acct.account_id, kind, f"Order {cid}: {why}", cid, symbol)
            return
        if order.status in books.UNSETTLED:
            self.repair(
                acct.account_id,
                "order_unknown_resolved",
                f"Order {cid} was {order.status.value}; found on the venue by its client order "
                f"id, {found.status.value} with {found.filled_qty} of {found.qty} filled.",
                cid,
                symbol,
            )
        if order.status is OrderStatus.NEW:
            # A report moves an order on from SUBMITTED; the venue acknowledged it.
            self.deliver(VenueReport(acct.account_id, cid, OrderStatus.SUBMITTED, self.now))
        booked, queued = await self.book_missing(acct, order, found)
        if found.status.terminal:
            if found.status is not OrderStatus.FILLED:
                self.deliver(
                    VenueReport(
                        acct.account_id,
                        cid,
                        found.status,
                        self.now,
                        venue_order_id=found.venue_order_id,
                        code=f"venue_{found.status.value}",
                        reason=f"The order is {found.status.value} on {self.venue.name}.",
                    )
                )
                canceled = found.status is OrderStatus.CANCELED
                self.repair(
                    acct.account_id,
                    "order_closed",
                    f"Order {cid} is {found.status.value} on the venue"
                    + (" (canceled there by hand)." if canceled else "."),
                    cid,
                    symbol,
                )
            return
        if order.status is OrderStatus.UNKNOWN and not queued:
            self.deliver(
                VenueReport(
                    acct.account_id,
                    cid,
                    OrderStatus.SUBMITTED,
                    self.now,
                    venue_order_id=found.venue_order_id,
                )
            )
        # Followed now (the reports queued above count as booked), so that anything that
        # cancels it while they are applied reaches the venue.
        self.venue.follow(books.as_booked(order, queued), booked)

    async def book_missing(
        self, acct: AccountRuntime, order: Order, found: VenueOrder
    ) -> tuple[list[str], Decimal]:
        """Queue the venue's fills of ``order`` beyond what the books hold; returns the ids of
        every fill of the order the books now account for, and the quantity queued."""
        if found.filled_qty <= order.filled_qty and order.filled_qty == 0:
            return [], Decimal(0)
        since = max(order.created_at - FILL_MARGIN_MS, 0)
        fills = [
            f
            for f in await self.venue.fetch_fills(acct.account_id, order.symbol, since)
            if f.client_id == order.client_id
        ]
        fills.sort(key=lambda f: (f.ts, f.fill_id))
        accounted: list[str] = []
        skip = order.filled_qty
        filled = order.filled_qty
        for fill in fills:
            if skip >= fill.qty:
                skip -= fill.qty
                accounted.append(fill.fill_id)
                continue
            if filled + fill.qty > order.qty:
                break
            filled += fill.qty
            accounted.append(fill.fill_id)
            status = OrderStatus.FILLED if filled == order.qty else OrderStatus.PARTIALLY_FILLED
            self.deliver(
                VenueReport(
                    acct.account_id, order.client_id, status, fill.ts, fill, found.venue_order_id
                )
            )
            self.repair(
                acct.account_id,
                "fill_booked",
                f"{fill.side.value} {fill.qty} at {fill.price} (fee {fill.fee}) on "
                f"{order.role.value} order {order.client_id} happened on the venue and was "
                "not yet booked.",
                order.client_id,
                order.symbol,
            )
        if filled < found.filled_qty:
            self.differ(
                acct.account_id,
                f"order {order.client_id} filled {found.filled_qty} on the venue but only "
                f"{filled} could be found in its trade history.",
            )
        return accounted, filled - order.filled_qty

    # -- step 6: residual money --------------------------------------------------------------

    def residual_cash(self, acct: AccountRuntime, balances: Mapping[str, Balance]) -> None:
        for kind, symbol, detail in books.repair_residual_cash(
            self.engine, acct, balances, self.owner.tolerance
        ):
            acct.settle_adjustments(self.now)
            self.repair(acct.account_id, kind, detail, None, symbol)

    # -- the verdict --------------------------------------------------------------------------

    async def compare(self, acct: AccountRuntime) -> None:
        account_id = acct.account_id

        async def read() -> tuple[list[VenueOrder], dict[str, Balance]]:
            return (
                await self.venue.fetch_open_orders(account_id),
                await self.venue.fetch_balances(account_id),
            )

        seen = await balances_step.settled_read(self, acct, read)
        if seen is None:
            return
        venue_open, balances = seen
        held = {c for c, local in self.venue.following(acct.account_id).items() if local}
        for text in books.differences(
            self.engine, acct, venue_open, balances, held, self.owner.tolerance
        ):
            self.differ(acct.account_id, text)
