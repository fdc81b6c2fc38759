"""Reconciliation, step 3: orders on the venue that the books do not know.

Rampart's own orders (recognised by the account's client-id prefix) that the books lost, having
been sent after the last saved state, are adopted: put back in the books with their links, then
acknowledged, filled and finished through the executor's normal report path
(:class:`Adoption`). Anyone else's orders are reported once and left alone, or canceled when
configured to (:class:`ForeignOrders`).
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

from rampart.domain.errors import RampartError
from rampart.domain.fills import Fill
from rampart.domain.orders import Order, OrderRole, OrderStatus, Side
from rampart.trading.account import AccountRuntime
from rampart.trading.ports import VenueOrder, VenueReport
from rampart.trading.reconcile import books
from rampart.trading.reconcile.context import FILL_MARGIN_MS, RunContext

__all__ = ["FILL_MARGIN_MS", "ID_GAP", "RECENT", "Adoption", "ForeignOrders"]

ID_GAP = 100_000
"""How far the client-order sequence jumps when the venue's orders cannot be read at start,
or on a takeover (:data:`~rampart.trading.reconcile.context.TAKEOVER`)."""
RECENT = 500
"""Most recent orders read per market when looking for orders the books lost."""
FIRST_PAGE = 50
"""At a start, the newest orders read first per market: enough when one of them is older than
what the books know (:meth:`Adoption.listed`), and a tenth of the parsing. A takeover read
:data:`RECENT` twice per account (ids reserved, then orders adopted): in a 30-minute chaos run
(400 orders an account by then) a shard's takeover reconciliation grew from 0.13 s to 2.6 s,
the largest part of a failover's resume."""
REORDER_MARGIN = 10
"""Orders sent side by side may reach the venue out of their id order: an order this many ids
below the books' last one is older than every order sent after it."""


class ForeignOrders:
    """Orders on the venue that Rampart did not place. Lives as long as the reconciler, so an
    order left alone is reported once, not on every pass."""

    def __init__(self, *, cancel_unknown: bool) -> None:
        self.cancel_unknown = cancel_unknown
        self._reported: set[str] = set()

    async def handle(self, run: RunContext, acct: AccountRuntime, vo: VenueOrder) -> None:
        key = f"{acct.account_id}:{vo.client_id}"
        if self.cancel_unknown:
            order = books.order_from_venue(acct, vo, OrderRole.EXIT, run.now)
            run.venue.follow(order)
            try:
                await run.venue.cancel(acct.account_id, vo.client_id)
            except RampartError as exc:
                run.differ(
                    acct.account_id, f"order {vo.client_id} could not be canceled: {exc.message}"
                )
                return
            run.repair(
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
        run.repair(
            acct.account_id,
            "unknown_venue_order",
            f"Order {vo.client_id} ({vo.side.value if vo.side else '?'} {vo.qty} {vo.symbol}) "
            "was not placed by Rampart; it is left alone.",
            vo.client_id,
            vo.symbol,
        )


class Adoption:
    """Step 3 of one pass: finds the venue's orders the books do not know and adopts
    Rampart's own among them."""

    def __init__(self, run: RunContext, foreign: ForeignOrders) -> None:
        self.run = run
        self.foreign = foreign
        self.known_seq: dict[str, int] = {}
        """Per account, the last client-order sequence in the books when the pass began."""
        self.fresh_from: dict[str, int] = {}
        """Per account, the sequence after which the orders are this pass's own (made while
        it applied what it found): never adopted."""
        self.known_gen: dict[str, dict[str, int]] = {}
        """Per account and symbol, the pair generation in the books when the pass began: a
        derived leg (numbered by its entry, not by the account) past it is one the books never
        had, whatever its state."""
        self._listed: dict[tuple[str, str], list[VenueOrder]] = {}

    async def listed(
        self, acct: AccountRuntime, symbol: str, *, booking: bool = False
    ) -> list[VenueOrder]:
        """At a start, the market's newest orders, read once a pass (the ids reserved and the
        orders adopted read the same list; an order of the last holder that lands after it
        has an id in ``last_holder_ids`` and is adopted whenever it turns up). First the
        newest :data:`FIRST_PAGE`: when one of Rampart's among them is older than what the
        books know, every order the books lack is among them (an account's ids grow with
        time); otherwise the newest :data:`RECENT`. ``booking``: read in the account's
        booking turn (the ids could not be reserved from a read), which a read gives up."""
        key = (acct.account_id, symbol)
        if key in self._listed:
            return self._listed[key]
        account_id = acct.account_id
        venue = self.run.venue

        def turn() -> AbstractAsyncContextManager[None]:
            return self.run.reading() if booking else contextlib.nullcontext()

        async with turn():
            page = await venue.fetch_recent_orders(account_id, symbol, None, FIRST_PAGE)
        known = self.known_seq.get(account_id, acct.seq) - REORDER_MARGIN
        seqs = (books.parse_client_id(account_id, vo.client_id) for vo in page)
        if len(page) >= FIRST_PAGE and not any(p is not None and p[0] <= known for p in seqs):
            async with turn():
                page = await venue.fetch_recent_orders(account_id, symbol, None, RECENT)
        self._listed[key] = page
        return page

    async def reserve_ids(self, acct: AccountRuntime) -> None:
        """At start, before anything can send an order: move the account's client-order
        sequence past every id the venue has seen, so no new order reuses the id of one sent
        after the last saved state (the venue would refuse it as a duplicate, or worse, take
        the old order for the new one)."""
        account_id = acct.account_id
        self.known_seq[account_id] = acct.seq
        brackets = acct.bracket_book
        self.known_gen[account_id] = {
            symbol: bracket.generation
            for symbol in acct.spec.symbols
            if (bracket := brackets.get(symbol)) is not None
        }
        if self.run.adopt_any_age:
            highest, gap = acct.seq, 0
            try:
                listed = [
                    vo for symbol in acct.spec.symbols for vo in await self.listed(acct, symbol)
                ]
                if not (self.run.takeover and _ours(account_id, listed)):
                    listed += await self.run.venue.fetch_open_orders(account_id)
            except RampartError as exc:
                # Unreadable now: leave a wide gap instead, so a new id cannot collide.
                self.run.differ(account_id, f"its orders could not be read: {exc.message}")
                gap = ID_GAP
                listed = []
            for vo in listed:
                parsed = books.parse_client_id(account_id, vo.client_id)
                if parsed is not None:
                    highest = max(highest, parsed[0])
                    # A pair's ids derive from its position's generation: past every one the
                    # venue has seen, so a new pair never reuses a finished one's id.
                    books.pass_generation(acct, vo.symbol, vo.client_id)
            if self.run.takeover:
                # The last holder may still have an order on its way, with an id past these:
                # it is adopted whenever it turns up, whatever its state by then.
                gap = ID_GAP
                acct.last_holder_ids = range(highest + 1, highest + gap + 1)
            acct.seq = highest + gap
        self.fresh_from[account_id] = acct.seq

    async def unknown_orders(self, acct: AccountRuntime, venue_open: list[VenueOrder]) -> None:
        account_id = acct.account_id
        seen: dict[str, VenueOrder] = {}
        since = self.run.now - self.run.lookback_ms
        for symbol in acct.spec.symbols:
            # At start, the newest orders whatever their age (an exchange lists the oldest ones
            # after a start time, which would miss the newest when there are many); otherwise
            # only the last few minutes' (a running engine can only have just lost one).
            if self.run.adopt_any_age:
                recent = await self.listed(acct, symbol, booking=True)
            else:
                async with self.run.reading():
                    recent = await self.run.venue.fetch_recent_orders(
                        account_id, symbol, since, RECENT
                    )
            for vo in recent:
                if vo.ts == 0 or vo.ts >= since:
                    seen[vo.client_id] = vo
        for vo in venue_open:
            seen[vo.client_id] = vo  # the freshest view of the open ones
        for vo in seen.values():
            if vo.filled_qty > 0 and books.parse_client_id(account_id, vo.client_id) is not None:
                # The verdict compares its trades by id.
                self.run.expect_trades(account_id, vo.symbol, vo.ts)
        # Both set for every account of the pass by reserve_ids, before any is reconciled.
        known_seq = self.known_seq[account_id]
        known_gen = self.known_gen.get(account_id, {})
        fresh_from = self.fresh_from[account_id]
        ours: list[VenueOrder] = []
        for vo in seen.values():
            if vo.client_id in acct.orders:
                continue
            parsed = books.parse_client_id(account_id, vo.client_id)
            if parsed is None:
                if vo.status.open:
                    await self.foreign.handle(self.run, acct, vo)
                continue
            seq, _ = parsed
            if seq > fresh_from:
                continue  # sent by this run, after it began: already in the books
            generation = books.generation_of(vo.client_id)
            unseen_pair = generation is not None and generation > known_gen.get(vo.symbol, 0)
            if seq > known_seq or vo.status.open or seq in acct.last_holder_ids or unseen_pair:
                ours.append(vo)
            acct.seq = max(acct.seq, seq)
        if ours:
            ours.sort(key=lambda vo: books.seq_of(vo.client_id))
            strays = acct.last_holder_ids
            last = books.seq_of(ours[-1].client_id)
            if last in strays:  # adopted once: a later pass must not take it again
                acct.last_holder_ids = range(last + 1, strays.stop)
            await self.adopt(acct, ours)

    async def adopt(self, acct: AccountRuntime, adopted: list[VenueOrder]) -> None:
        """Rampart's own orders that the books lost (sent after the last saved state): put them
        back in the books and book their fills, as if their reports had arrived."""
        orders = books.link_adopted(self.run.engine, acct, adopted, self.run.now)
        for order, vo in orders:
            self.run.repair(
                acct.account_id,
                "order_adopted",
                f"{order.role.value} order {order.client_id} ({vo.status.value}, filled "
                f"{vo.filled_qty} of {vo.qty}) was on the venue but not in the books.",
                order.client_id,
                order.symbol,
            )
        by_symbol: dict[str, list[tuple[Order, VenueOrder]]] = {}
        for order, vo in orders:
            by_symbol.setdefault(order.symbol, []).append((order, vo))
        for symbol, pairs in by_symbol.items():
            await self.book_adopted(acct, symbol, pairs)

    async def _adopted_fills(
        self, acct: AccountRuntime, symbol: str, pairs: list[tuple[Order, VenueOrder]]
    ) -> dict[str, list[Fill]]:
        """The venue's fills of the adopted orders that fit the books, by client id."""
        wanted = {o.client_id: o for o, vo in pairs if vo.filled_qty > 0}
        if not wanted:
            return {}
        since = max(min(o.created_at for o in wanted.values()) - FILL_MARGIN_MS, 0)
        async with self.run.reading():
            fetched = await self.run.venue.fetch_fills(acct.account_id, symbol, since)
        pos = acct.ledger.positions.get(symbol)
        held = pos.qty if pos else Decimal(0)
        out: dict[str, list[Fill]] = {}
        done: dict[str, Decimal] = {}
        for fill in sorted(
            (f for f in fetched if f.client_id in wanted),
            key=lambda f: (f.ts, books.seq_of(f.client_id)),
        ):
            order = wanted[fill.client_id]
            so_far = done.get(order.client_id, Decimal(0))
            if so_far + fill.qty > order.qty or (fill.side is Side.SELL and fill.qty > held):
                self.run.differ(
                    acct.account_id,
                    f"fill {fill.fill_id} does not fit the books; balances are set instead.",
                )
                self.run.set_aside.add(fill.fill_id)  # said once: the verdict names it not again
                continue
            held += fill.qty if fill.side is Side.BUY else -fill.qty
            done[order.client_id] = so_far + fill.qty
            out.setdefault(order.client_id, []).append(fill)
        return out

    async def book_adopted(
        self, acct: AccountRuntime, symbol: str, pairs: list[tuple[Order, VenueOrder]]
    ) -> None:
        """Replay the adopted orders in time order: each order enters the books when it was
        sent, each fill is applied when it happened, so the executor's reactions (protection
        after an entry fills, cancels after an exit) see what the process that sent them saw:
        an entry's bracket is already there when its fill is booked."""
        fills = await self._adopted_fills(acct, symbol, pairs)
        steps: list[tuple[tuple[int, int, int], Order, VenueOrder, Fill | None]] = []
        for order, vo in pairs:
            steps.append(((order.created_at, 0, books.seq_of(order.client_id)), order, vo, None))
            for found in fills.get(order.client_id, []):
                steps.append(((found.ts, 1, books.seq_of(order.client_id)), order, vo, found))
        steps.sort(key=lambda step: step[0])
        filled: dict[str, Decimal] = {}
        for _, order, vo, fill in steps:
            cid = order.client_id
            if fill is None:
                books.register(self.run.engine, acct, order, self.run.now)
                if vo.status.open:
                    # Followed before anything can try to cancel it; its fills are booked
                    # below, so the venue reports only later ones.
                    booked = fills.get(cid, [])
                    self.run.venue.follow(
                        books.as_booked(order, sum((f.qty for f in booked), Decimal(0))),
                        [f.fill_id for f in booked],
                    )
                self.run.deliver(
                    VenueReport(
                        acct.account_id,
                        cid,
                        OrderStatus.SUBMITTED,
                        self.run.now,
                        venue_order_id=vo.venue_order_id,
                    )
                )
                await self.run.engine.executor.drain()
                continue
            total = filled.get(cid, Decimal(0)) + fill.qty
            filled[cid] = total
            status = OrderStatus.FILLED if total == order.qty else OrderStatus.PARTIALLY_FILLED
            self.run.deliver(
                VenueReport(acct.account_id, cid, status, fill.ts, fill, vo.venue_order_id)
            )
            self.run.repair(
                acct.account_id,
                "fill_booked",
                f"{fill.side.value} {fill.qty} at {fill.price} (fee {fill.fee}) on adopted "
                f"order {cid}.",
                cid,
                symbol,
            )
        # The fills are applied in one go, in the order they happened: a reaction to one (an
        # exit that starts selling cancels the entry) must not run between two of them, or
        # the entry, canceled now on the venue, is forgotten before its earlier fills are
        # booked (they would be "a fill for an order the books do not hold").
        await self.run.engine.executor.drain()
        for order, vo in pairs:
            got = filled.get(order.client_id, Decimal(0))
            if vo.status is OrderStatus.FILLED and got < order.qty:
                self.run.differ(
                    acct.account_id,
                    f"adopted order {order.client_id} is filled on the venue but only "
                    f"{got} of {order.qty} could be found in its trade history.",
                )
            elif vo.status.terminal and vo.status is not OrderStatus.FILLED:
                self.run.deliver(
                    VenueReport(
                        acct.account_id,
                        order.client_id,
                        vo.status,
                        self.run.now,
                        venue_order_id=vo.venue_order_id,
                        reason=f"The order is {vo.status.value} on {self.run.venue.name}.",
                    )
                )
        await self.run.engine.executor.drain()


def _ours(account_id: str, listed: list[VenueOrder]) -> bool:
    """Whether the market's newest orders hold one of the account's own: then an open order
    they leave out is older than it, and its id below it by far less than the
    :data:`ID_GAP` a takeover adds, so reading the open orders for the ids is one request an
    account less in each take. A start (no gap) still reads them."""
    return any(books.parse_client_id(account_id, vo.client_id) is not None for vo in listed)
