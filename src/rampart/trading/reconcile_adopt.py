"""Reconciliation, step 3: orders on the venue that the books do not know.

Rampart's own orders (recognised by the account's client-id prefix) that the books lost, having
been sent after the last saved state, are adopted: put back in the books with their links, then
acknowledged, filled and finished through the executor's normal report path. Anyone else's
orders are reported once and left alone, or canceled when configured to.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rampart.domain.errors import RampartError
from rampart.domain.fills import Fill
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.trading import reconcile_books as books
from rampart.trading.account import AccountRuntime
from rampart.trading.ports import ReconcilableVenue, VenueOrder, VenueReport

if TYPE_CHECKING:
    from rampart.trading.engine import Engine
    from rampart.trading.reconcile import Reconciler

RECENT = 500
"""Most recent orders read per market when looking for orders the books lost."""
FILL_MARGIN_MS = 60_000
"""Fills are fetched from this long before the order was created (clock differences)."""


class AdoptionSteps:
    """Step 3 of a reconciliation run; mixed into the run, which provides these members."""

    owner: Reconciler
    engine: Engine
    venue: ReconcilableVenue
    now: int
    lookback_ms: int

    def repair(
        self, account_id: str, kind: str, detail: str, client_id: str | None, symbol: str | None
    ) -> None:
        raise NotImplementedError

    def differ(self, account_id: str, text: str) -> None:
        raise NotImplementedError

    def deliver(self, report: VenueReport) -> None:
        raise NotImplementedError

    def follow_later(self, acct: AccountRuntime, order: Order, fill_ids: list[str]) -> None:
        raise NotImplementedError

    async def unknown_orders(self, acct: AccountRuntime, venue_open: list[VenueOrder]) -> None:
        account_id = acct.account_id
        seen: dict[str, VenueOrder] = {}
        since = self.now - self.lookback_ms
        for symbol in acct.spec.symbols:
            # The newest orders (an exchange lists the oldest ones after a start time, which
            # would miss the newest when there are many).
            recent = await self.venue.fetch_recent_orders(account_id, symbol, None, RECENT)
            for vo in recent:
                if vo.ts == 0 or vo.ts >= since:
                    seen[vo.client_id] = vo
        for vo in venue_open:
            seen[vo.client_id] = vo  # the freshest view of the open ones
        known_seq = acct.seq
        ours: list[tuple[int, VenueOrder]] = []
        for vo in seen.values():
            if vo.client_id in acct.orders:
                continue
            parsed = books.parse_client_id(account_id, vo.client_id)
            if parsed is None:
                if vo.status.open:
                    await self.foreign(acct, vo)
                continue
            seq, _ = parsed
            if seq > known_seq or vo.status.open:
                ours.append((seq, vo))
            acct.seq = max(acct.seq, seq)
        if ours:
            await self.adopt(acct, [vo for _, vo in sorted(ours, key=lambda x: x[0])])

    async def foreign(self, acct: AccountRuntime, vo: VenueOrder) -> None:
        key = f"{acct.account_id}:{vo.client_id}"
        if self.owner.cancel_unknown:
            order = books.order_from_venue(acct, vo, OrderRole.EXIT, self.now)
            self.venue.follow(order)
            try:
                await self.venue.cancel(acct.account_id, vo.client_id)
            except RampartError as exc:
                self.differ(
                    acct.account_id, f"order {vo.client_id} could not be canceled: {exc.message}"
                )
                return
            self.repair(
                acct.account_id,
                "unknown_venue_order_canceled",
                f"Order {vo.client_id} on {vo.symbol} was not placed by Rampart; it was "
                "canceled as configured.",
                vo.client_id,
                vo.symbol,
            )
            return
        if key in self._reported:
            return
        self._reported.add(key)
        self.repair(
            acct.account_id,
            "unknown_venue_order",
            f"Order {vo.client_id} ({vo.side.value if vo.side else '?'} {vo.qty} {vo.symbol}) "
            "was not placed by Rampart; it is left alone.",
            vo.client_id,
            vo.symbol,
        )

    @property
    def _reported(self) -> set[str]:
        return self.owner._reported_foreign

    async def adopt(self, acct: AccountRuntime, adopted: list[VenueOrder]) -> None:
        """Rampart's own orders that the books lost (sent after the last saved state): put them
        back in the books and book their fills, as if their reports had arrived."""
        orders = books.register_adopted(self.engine, acct, adopted, self.now)
        for order, vo in orders:
            self.repair(
                acct.account_id,
                "order_adopted",
                f"{order.role.value} order {order.client_id} ({vo.status.value}, filled "
                f"{vo.filled_qty} of {vo.qty}) was on the venue but not in the books.",
                order.client_id,
                order.symbol,
            )
        by_symbol: dict[str, list[tuple[Order, VenueOrder]]] = {}
        for pair in orders:
            by_symbol.setdefault(pair[0].symbol, []).append(pair)
        for symbol, pairs in by_symbol.items():
            await self.book_adopted(acct, symbol, pairs)

    async def book_adopted(
        self, acct: AccountRuntime, symbol: str, pairs: list[tuple[Order, VenueOrder]]
    ) -> None:
        for order, vo in pairs:
            # Acknowledged first, as the venue would have: fills and final states follow.
            self.deliver(
                VenueReport(
                    acct.account_id,
                    order.client_id,
                    OrderStatus.SUBMITTED,
                    self.now,
                    venue_order_id=vo.venue_order_id,
                )
            )
        wanted = {o.client_id: (o, vo) for o, vo in pairs if vo.filled_qty > 0}
        fills: list[Fill] = []
        if wanted:
            since = max(min(o.created_at for o, _ in wanted.values()) - FILL_MARGIN_MS, 0)
            fetched = await self.venue.fetch_fills(acct.account_id, symbol, since)
            fills = sorted(
                (f for f in fetched if f.client_id in wanted),
                key=lambda f: (f.ts, books.seq_of(f.client_id)),
            )
        pos = acct.ledger.positions.get(symbol)
        held = pos.qty if pos else Decimal(0)
        booked: dict[str, list[str]] = {}
        filled: dict[str, Decimal] = {}
        for fill in fills:
            order, vo = wanted[fill.client_id]
            done = filled.get(order.client_id, Decimal(0))
            if done + fill.qty > order.qty or (fill.side.value == "sell" and fill.qty > held):
                self.differ(
                    acct.account_id,
                    f"fill {fill.fill_id} does not fit the books; balances are set instead.",
                )
                continue
            held += fill.qty if fill.side.value == "buy" else -fill.qty
            filled[order.client_id] = done + fill.qty
            booked.setdefault(order.client_id, []).append(fill.fill_id)
            status = (
                OrderStatus.FILLED if done + fill.qty == order.qty else OrderStatus.PARTIALLY_FILLED
            )
            self.deliver(
                VenueReport(
                    acct.account_id, order.client_id, status, fill.ts, fill, vo.venue_order_id
                )
            )
            self.repair(
                acct.account_id,
                "fill_booked",
                f"{fill.side.value} {fill.qty} at {fill.price} (fee {fill.fee}) on adopted "
                f"order {order.client_id}.",
                order.client_id,
                symbol,
            )
        for order, vo in pairs:
            got = filled.get(order.client_id, Decimal(0))
            if vo.status.open:
                self.follow_later(acct, order, booked.get(order.client_id, []))
            elif vo.status is OrderStatus.FILLED:
                if got < order.qty:
                    self.differ(
                        acct.account_id,
                        f"adopted order {order.client_id} is filled on the venue but only "
                        f"{got} of {order.qty} could be found in its trade history.",
                    )
            else:
                self.deliver(
                    VenueReport(
                        acct.account_id,
                        order.client_id,
                        vo.status,
                        self.now,
                        venue_order_id=vo.venue_order_id,
                        reason=f"The order is {vo.status.value} on {self.venue.name}.",
                    )
                )
