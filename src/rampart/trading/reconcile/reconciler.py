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
3b. orders still unconfirmed past the grace period are settled from the account's trade
   history (:mod:`.history`): their trades booked, or, with none after a few passes, closed as
   never placed; otherwise the balances below would wait for them for good;
4. the venue's balances, read once they are consistent with the fills booked, explain what
   is left: a position sold outside Rampart closes with the exchange's own trades (exit reason
   ``external``), an earlier guessed sale of coins the venue still holds is reversed, coins
   bought by hand are held apart (:mod:`.balances`);
5. every position is protected (the executor's ``ensure_protection``): no bracket is placed
   for an account before step 4, so a position the venue no longer holds is never protected.
   Replacing a pair cancels it first, and the cancel may bring back a fill (a take-profit that
   filled after step 4's read): it is booked then, and the new pair is sized after it;
6. a residual difference of cash is set to the venue's figure (a deposit or withdrawal), from
   step 4's read; when step 5 booked a fill after that read, the read does not hold the fill's
   cash, so the balances are read again and cash is set only when that read holds the coins
   the books hold (else it is left to the next pass).

Steps 1 to 6 are what trading safely needs (ids, orders, positions, stops); the verdict (open
orders and balances read again, trades compared by id) only judges. A shard's take runs the
pass without it (``verdict=False``) so the shard trades sooner, and a full pass follows.

Every change goes through the executor's normal report path (ledger, positions, brackets and
events stay consistent) and is published as a :class:`ReconciliationRepaired` event, logged,
and counted in the returned :class:`ReconcileReport`.

Before step 1, each account's client-order sequence is moved past every id the venue has seen
(:meth:`~.adopt.Adoption.reserve_ids`), for every account of the pass.

The accounts are taken ``concurrency`` at a time (16 by default, per process;
:mod:`.overlap`): the venue's reads of several accounts overlap while one account at a time
books, each account's steps in the order above, so the books and the report are those of one
account after another (with 1, that is what the pass does). Only a pass at a start (a
restart, a shard taken over) overlaps: the engine does not trade those accounts yet. Passes of
a running engine (interval, reconnect) take its accounts one after another, as they always
have. A 300-account process run with them overlapping saw one interval pass set five accounts'
cash short of the fills it had just booked; that was step 6 using a read older than a fill
step 5 booked, which a pass one account after another can do too (fixed, above), but the
overlap of a running engine's passes has not been run at scale since, so it stays off.

The :class:`Reconciler` holds the settings and what outlives a pass (run counts, the foreign
orders already reported). Each pass composes one collaborator per responsibility, all sharing
its :class:`~.context.RunContext`: :class:`~.known.KnownOrders` (steps 1-2),
:class:`~.adopt.Adoption` (step 3), :mod:`.balances` (step 4) and
:mod:`.books` (the comparisons of steps 6 and the verdict).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

import structlog

from rampart.domain.errors import RampartError
from rampart.domain.events import BooksDiffer
from rampart.domain.fills import Balance
from rampart.domain.money import ZERO
from rampart.trading.account import AccountRuntime
from rampart.trading.ports import VenueOrder
from rampart.trading.protection_state import bare_positions, clock_text
from rampart.trading.reconcile import balances as balances_step
from rampart.trading.reconcile import books
from rampart.trading.reconcile.adopt import Adoption, ForeignOrders
from rampart.trading.reconcile.context import ACCOUNTS, STARTS, ReconcileReport, RunContext
from rampart.trading.reconcile.known import KnownOrders
from rampart.trading.reconcile.overlap import Booking, listening, side_by_side
from rampart.trading.reconcile.schedule import ReconcileSchedule, ReconnectWatch

if TYPE_CHECKING:
    from rampart.trading.engine import Engine

log = structlog.get_logger("rampart.reconcile")

__all__ = ["ReconcileReport", "ReconcileSchedule", "Reconciler", "ReconnectWatch"]

DEFAULT_CONCURRENCY = 16
"""Accounts reconciled side by side in a process (``venue.reconcile_concurrency``): enough to
hide the venue's round trips behind each other on the shards a worker takes over, few enough
that the event loop (which renews the worker's leases) stays prompt and the exchange is not
flooded (the request budget paces the reads anyway)."""
OVERLAPPED_REASONS = STARTS
"""The only passes whose accounts overlap (see the module's docstring)."""
DEFAULT_TOLERANCE = Decimal("1e-8")
"""Balances closer than this are equal: exchanges publish balances to 8 decimals and ccxt
carries them as floats, so a difference below it is notation, not money."""


class Reconciler:
    def __init__(
        self,
        *,
        cancel_unknown: bool = False,
        unknown_grace_s: float = 30.0,
        lookback_s: float = 86_400.0,
        recent_lookback_s: float = 900.0,
        tolerance: Decimal = DEFAULT_TOLERANCE,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        """``unknown_grace_s``: how long an unconfirmed order may be missing from the venue
        before it is declared never arrived (a late request may still land inside the
        exchange's receive window). ``lookback_s``: how far back orders and fills are read
        when looking for ones the books do not know at start (after a restart);
        ``recent_lookback_s`` on the other runs (a running engine loses no orders, so only an
        order whose answer was lost very recently can be missing). ``concurrency``: how many
        accounts are reconciled side by side (1: one after another; :mod:`.overlap`)."""
        self.grace_ms = int(unknown_grace_s * 1000)
        self.lookback_ms = int(lookback_s * 1000)
        self.recent_lookback_ms = int(recent_lookback_s * 1000)
        self.tolerance = tolerance
        self.runs = 0
        self.totals: Counter[str] = Counter()
        self.foreign = ForeignOrders(cancel_unknown=cancel_unknown)
        self.unconfirmed_passes: Counter[str] = Counter()
        """Per order still unconfirmed past the grace period, the passes that found no trade
        of it in the venue's history (:mod:`.history`)."""
        self.concurrency = max(1, concurrency)
        self.unrepaired: Counter[str] = Counter()
        """Per account, the passes in a row whose repairs left its books differing from the
        venue (the P0 BooksDifferUnrepaired reads it through :class:`BooksDiffer`)."""

    def _tally(self, ctx: RunContext, ids: list[str]) -> None:
        """Count the passes in a row each account's books still differed after the repairs,
        and say so on the bus; an account matching again is said once, with 0."""
        for account_id in ids:
            text = ctx.differing.get(account_id)
            before = self.unrepaired.pop(account_id, 0)
            passes = before + 1 if text is not None else 0
            if passes:
                self.unrepaired[account_id] = passes
            if passes or before:
                detail = text or "the books match the venue again"
                ctx.engine.bus.publish(BooksDiffer(ctx.now, account_id, passes, detail))

    @property
    def cancel_unknown(self) -> bool:
        return self.foreign.cancel_unknown

    # -- entry point --------------------------------------------------------------------------

    async def run(
        self,
        engine: Engine,
        accounts: Iterable[str] | None = None,
        reason: str = "interval",
        *,
        verdict: bool = True,
    ) -> ReconcileReport:
        """Reconcile ``accounts`` (default: all) with the venue; never raises for the venue's
        failures: what could not be checked is listed as a difference.

        ``verdict=False``: steps 1 to 6 only, without the verdict's second read of open orders
        and balances and its read of the trade history (a shard's take before its first
        candle: the verdict changes nothing in the books, and on a starved machine it is the
        larger part of a take's pass). The report says ``compared=False`` and never
        "matches"; the caller runs a full pass once the shard trades."""
        ids = list(dict.fromkeys(accounts if accounts is not None else engine.accounts))
        report = ReconcileReport(engine.clock.now_ms(), ids, reason, compared=verdict)
        self.runs += 1
        if not engine.capabilities.reconciliation:
            report.differences.append(f"The {engine.venue.name} venue cannot be reconciled.")
            return report
        ctx = RunContext(
            engine,
            report,
            lookback_ms=self.lookback_ms,
            recent_lookback_ms=self.recent_lookback_ms,
            tolerance=self.tolerance,
        )
        known = KnownOrders(ctx, self.grace_ms, self.unconfirmed_passes)
        adoption = Adoption(ctx, self.foreign)
        held = engine.executor.hold_protection
        held.update(a for a in ids if a in engine.accounts)
        try:
            if self.concurrency > 1 and len(ids) > 1 and reason in OVERLAPPED_REASONS:
                await self._overlapped(ctx, known, adoption, ids)
            else:
                await self._sequential(ctx, known, adoption, ids)
        finally:
            held.difference_update(ids)
            ctx.finish()
        if verdict:  # a pass that did not judge cannot say an account matches again
            self._tally(ctx, ids)
        if engine.owed and reason in STARTS:
            _settle_owed(engine)
        self.totals.update(report.repairs)
        unjudged = {} if verdict else {"compared": False}  # "matches" is False: not judged
        log.info(
            "reconciled",
            reason=reason,
            accounts=len(ids),
            repairs=dict(report.repairs),
            matches=report.matches,
            differences=len(report.differences),
            **unjudged,
        )
        return report

    async def _sequential(
        self, ctx: RunContext, known: KnownOrders, adoption: Adoption, ids: list[str]
    ) -> None:
        engine = ctx.engine
        for account_id in ids:
            if account_id in engine.accounts:
                await adoption.reserve_ids(engine.accounts[account_id])
        ctx.part = ACCOUNTS
        await known.catch_up()
        for account_id in ids:
            await _one_account(ctx, known, adoption, account_id)

    async def _overlapped(
        self, ctx: RunContext, known: KnownOrders, adoption: Adoption, ids: list[str]
    ) -> None:
        """The sequential pass's steps with the venue's reads overlapping (:mod:`.overlap`)."""
        engine = ctx.engine
        present = [engine.accounts[a] for a in ids if a in engine.accounts]
        # Reads only, each account's own: every account's ids are past the venue's before
        # any account's books are touched.
        await side_by_side([partial(adoption.reserve_ids, a) for a in present], self.concurrency)
        ctx.part = ACCOUNTS
        booking = Booking(engine.executor)
        # Each account's own orders are polled in its pass; orders of an account left out of
        # the pass are polled first, for all, as the sequential pass polls them.
        alone = not set(engine.accounts) <= set(ids)
        if alone:
            await known.catch_up()

        async def one(account_id: str) -> None:
            if not alone and account_id in engine.accounts:
                await known.catch_up(account_id)
            await _one_account(ctx, known, adoption, account_id)

        with listening(engine.venue, booking):
            ctx.reads = booking.reading
            try:
                jobs = [partial(booking.account, partial(one, a)) for a in ids]
                await side_by_side(jobs, self.concurrency)
            finally:
                ctx.reads = None


async def _one_account(
    ctx: RunContext, known: KnownOrders, adoption: Adoption, account_id: str
) -> None:
    engine = ctx.engine
    acct = engine.accounts.get(account_id)
    if acct is None:
        ctx.differ(account_id, "no such account in the engine.")
        return
    try:
        await _reconcile_account(ctx, known, adoption, acct)
    except RampartError as exc:
        ctx.differ(account_id, f"could not be reconciled: {exc.message}")
        await protect(engine, acct)
    await engine.executor.drain()


async def protect(engine: Engine, acct: AccountRuntime) -> None:
    """Step 5: lift the account's hold and protect every position it still has."""
    engine.executor.hold_protection.discard(acct.account_id)
    for symbol in list(acct.ledger.positions):
        await engine.executor.ensure_protection(acct, symbol)
    await engine.executor.drain()


async def _reconcile_account(
    ctx: RunContext, known: KnownOrders, adoption: Adoption, acct: AccountRuntime
) -> None:
    """Steps 2 to 6 and the verdict for one account, in the order the module describes."""
    executor = ctx.engine.executor
    await known.settle_unfollowed(acct)
    await executor.drain()
    async with ctx.reading():
        venue_open = await ctx.venue.fetch_open_orders(acct.account_id)
    await adoption.unknown_orders(acct, venue_open)
    await executor.drain()
    await known.settle_from_history(acct)
    balances = await balances_step.settled_balances(ctx, acct)
    apart = sum(acct.held_apart.values(), ZERO)
    if balances is not None:
        await balances_step.explain_positions(ctx, acct, balances)
    booked = acct.ledger.fills_booked
    await protect(ctx.engine, acct)
    if balances is not None and acct.ledger.fills_booked != booked:
        # Step 5 booked a fill (a cancel brought back a take-profit that filled after step 4's
        # read): that read does not hold its cash, and setting cash to it would undo the fill.
        balances = await _fresh_balances(ctx, acct)
    if balances is not None:
        _residual_cash(ctx, acct, balances, sum(acct.held_apart.values(), ZERO) - apart)
    if ctx.verdict:
        await _compare(ctx, acct)


async def _fresh_balances(ctx: RunContext, acct: AccountRuntime) -> dict[str, Balance] | None:
    """The balances read again after step 5, when they hold exactly the coins the books hold;
    else None: cash is left alone this pass (the next pass reads it from settled books)."""
    balances = await balances_step.settled_balances(ctx, acct)
    if balances is None or not balances_step.coins_agree(ctx, acct, balances):
        return None
    return balances


def _residual_cash(
    ctx: RunContext, acct: AccountRuntime, balances: Mapping[str, Balance], apart: Decimal
) -> None:
    """Step 6: what no fill explains is a cash flow (a deposit or withdrawal, or a purchase or
    sale by hand when the coins held apart moved by ``apart`` this pass); cash takes the
    venue's figure, and the flow is told (``cash_flow``: the investor and the operator)."""
    old = acct.ledger.cash
    flow = books.repair_residual_cash(ctx.engine, acct, balances, ctx.tolerance, apart)
    if flow is not None:
        acct.settle_adjustments(ctx.now)
        quote = acct.spec.quote
        ctx.repair(
            acct.account_id,
            "balance_adjusted",
            f"Cash was {old} {quote} in the books and {acct.ledger.cash} on the venue; set to "
            "the venue's figure.",
            None,
            None,
        )
        text = books.cash_flow_text(ctx.engine, acct, flow)
        ctx.tell(acct.account_id, "cash_flow", text)


async def _compare(ctx: RunContext, acct: AccountRuntime) -> None:
    """The verdict: what still differs, read from a snapshot consistent with the books."""
    account_id = acct.account_id
    venue = ctx.venue

    async def read() -> tuple[list[VenueOrder], dict[str, Balance]]:
        return (
            await venue.fetch_open_orders(account_id),
            await venue.fetch_balances(account_id),
        )

    seen = await balances_step.settled_read(ctx, acct, read)
    if seen is None:
        return
    venue_open, balances = seen
    held = {c for c, local in venue.following(acct.account_id).items() if local}
    for text in books.differences(ctx.engine, acct, venue_open, balances, held, ctx.tolerance):
        ctx.differ(acct.account_id, text)
    for text in await _trades_missing(ctx, acct):
        ctx.differ(acct.account_id, text)


async def _trades_missing(ctx: RunContext, acct: AccountRuntime) -> list[str]:
    """Rampart's own trades on the venue over the recent window that the books have not booked,
    by trade id (the balances can square by repairs while the books lack the exchange's
    trades). A trade made after the pass began (after ``ctx.now``) is the next pass's to judge.

    An empty list is no match when the window must hold trades (an order of ours made in it
    filled, by the venue's orders or by the books'): a history the venue does not return, or a
    read that missed them, is a difference in words, never "the books match". That holds for a
    venue that lists the exchange's own trade history (``keeps_trade_history``: an exchange's
    ``myTrades``); a venue whose fills come from its own journal (Solana's swaps, the paper
    venue) lists only what it has not yet reported, so its empty list says nothing."""
    window = max(ctx.now - ctx.recent_lookback_ms, 0)
    newest = dict(ctx.traded.get(acct.account_id, {}))
    for order in acct.recent_orders:  # the books' own: filled in the window, by their account
        made = order.created_at
        if order.filled_qty > 0 and made >= window and made > newest.get(order.symbol, -1):
            newest[order.symbol] = made
    if not newest:
        return []  # none of its recent orders filled: no trade to compare
    out: list[str] = []
    history = ctx.venue.keeps_trade_history
    for symbol in acct.spec.symbols:
        try:
            async with ctx.reading():
                fills = await ctx.venue.fetch_fills(acct.account_id, symbol, window)
        except RampartError as exc:
            return [f"its trades on {symbol} could not be read: {exc.message}"]
        if not fills and history and newest.get(symbol, -1) >= window:
            out.append(
                f"the venue lists no trade on {symbol} since {clock_text(window)} while an order "
                "of ours made since then filled there: the trades could not be compared by id"
            )
            continue
        for fill in fills:
            if fill.ts > ctx.now or acct.fill_seen(fill.fill_id) or fill.fill_id in ctx.set_aside:
                continue
            if books.parse_client_id(acct.account_id, fill.client_id) is None:
                continue  # not Rampart's: the balances step explains it
            out.append(f"trade {fill.fill_id} ({fill.qty} {symbol}) is on the venue, not booked")
    return out


def _settle_owed(engine: Engine) -> None:
    """A start after a stop whose last pass could not finish: this pass booked the venue's
    trades and covered the coins first (before any candle); said so, with what is still bare."""
    bare = bare_positions(engine.accounts, engine.venue.instrument, engine.clock.now_ms())
    log.warning("last_holder_work_done", owed=engine.owed, still_bare=bare)
    if not bare:
        engine.owed = ""
