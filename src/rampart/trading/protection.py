"""Brackets: a position's stop-loss and take-profit, sized to what it holds.

A position is protected by a stop-loss/take-profit pair on the venue for exactly the coins
that are free to sell (the position's quantity minus coins still locked by orders whose cancel
the venue has not confirmed, down to a whole number of lots: a venue refuses any other
quantity), or by a working market exit, or by the position monitor (``acct.guarded``: the
engine checks the stop and the target on every candle and exits at market). The pair is sent
again only when that quantity changes (the old pair canceled first; what a cancel brings back,
a leg that filled meanwhile, is booked before the new pair is sized); a stop that has begun to
fill is a market exit under way and is left to finish. A position left with less than a lot,
and nothing working on it, is closed as dust
(:meth:`~rampart.domain.positions.Ledger.retire_dust`).

A bracket has a lifecycle. An entry that fills in parts (the paper venue's participation cap, a thin
book) is protected from its first fill: the pair is placed for the coins bought so far. A venue that
declares ``Amend.BOTH`` re-sizes the pair in place at every part (the same two orders, no new one):
every coin bought rests under the stop and the target at their prices, so the trade books what
protecting each fill at once would. Another venue has the pair canceled and placed again to grow it
(``Amend.DOWN``, Binance, lowers in place only), so there it is re-sized at most :data:`MAX_RESIZES`
times per entry, not on every part: when the coins held reach each of :data:`RESIZE_STEPS` of the
entry's intended size (or :data:`GROWTH` times what the pair covers, if that comes first), and once
more when the entry ends (filled, or canceled with part of it bought). In between, the coins bought
above the pair are held by the position monitor (``acct.guarded``), which exits at market on the
first candle whose price crosses the stop or the target: no filled coin is without a stop for longer
than a candle. A new pair is never placed before both cancels are confirmed (until then the old legs
may hold the coins a new pair would sell). A pair that protects more than the position holds (a leg
sold part of it, coins gone by hand, a fee taken in the coin) is re-sized at once: lowered in place
on a venue that amends at all, the same two orders (an amend the venue refuses falls back to
canceling and placing again). A take-profit that has begun to fill took its stop with it (the
exchange's one-cancels-the-other): its rest is canceled and a new pair placed for the coins left
at once, the monitor holding the stop until it rests.

A venue that refuses the pair is not asked again on every candle: the refusal is remembered
with the quantity it was for, the monitor guards the position meanwhile, and the same quantity
is retried after 1, 2, 4, ... candles (at most ``BACKOFF_CAP_CANDLES``). A different quantity
(a fill moved the position) is tried at once.

What all this remembers between two calls lives in the position's bracket
(:mod:`rampart.trading.bracket`), saved with the account; each decision here moves it to the
state it leaves the position in, and the monitor holds a position exactly while that state says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, cast

import structlog

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.domain.positions import Position
from rampart.trading.account import AccountRuntime, Bracket
from rampart.trading.bracket import BracketState, PositionBracket
from rampart.trading.ports import Amend, AmendingVenue
from rampart.trading.protection_reads import (
    partial_exit,
    refit_waits,
    resting_pair,
    stop_left,
    target_filling,
)
from rampart.trading.refit import refit as refit_pair

if TYPE_CHECKING:
    from rampart.trading.executor_port import ExecutorPort as Executor

log = structlog.get_logger("rampart.protection")

PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
RESIZE_STEPS = (Decimal("0.25"), Decimal("0.5"))
"""Shares of an entry's intended size at which its bracket grows while the entry still buys
(geometric: each step doubles the one before). The entry's end is the last re-size."""
GROWTH = 4
"""...or sooner, once the coins held reach this many times what the pair covers: an entry whose
intended size the market's volume never fills (it buys a share of each candle's volume while
the position is held) still has its pair grow with it."""
GROW_AFTER_MS = 3_000
"""Between candles (a follow turn, :mod:`rampart.trading.following`), a pair smaller than the
position grows once the coins above it have waited this long on the ops clock, step or not.
The wait starts at the first follow turn that sees them, a turn (``venue.follow_every_s``, 1 s)
at most after the fill was reported, at a candle or by a turn, and the growth is sent at the
first turn past it: with a turn on either side every coin the exchange holds is under a stop
within 5 s of its fill's report."""
MAX_RESIZES = len(RESIZE_STEPS) + 1
"""Re-sizes of one entry's bracket as it fills (the first placement not counted)."""
MAX_PROTECT_TRIES = 3
"""Bracket placements for one position at one instant before the monitor takes over (a venue
that accepts a pair and drops it at once must not make this loop)."""


_PROTECTIVE_SWAPPED = (OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS)
_EXIT = (OrderRole.EXIT,)
_ENTRY = (OrderRole.ENTRY,)
_EXIT_ROLE = OrderRole.EXIT
_STOP_ROLE = OrderRole.STOP_LOSS
_TAKE = OrderRole.TAKE_PROFIT


def exiting(acct: AccountRuntime, symbol: str) -> Decimal:
    """Coins being sold by working market exits."""
    return sum((o.remaining for o in acct.working(symbol, _EXIT)), Decimal(0))


def locked_by_cancels(acct: AccountRuntime, symbol: str) -> Decimal:
    """Coins held by protective orders asked to cancel that the venue has not reported gone.

    Protection runs once the venue's reports are applied, so such an order is one whose cancel
    went unconfirmed: until the venue says so its coins may still be locked there."""
    total = Decimal(0)
    pending = acct.pending_cancel
    if not pending:
        return total  # nothing asked to cancel: nothing locked (most calls)
    for o in acct.orders.values():
        if o.symbol == symbol and o.role in PROTECTIVE and o.client_id in pending and o.is_open:
            total += o.qty - o.filled_qty
    return total


class Protector:
    """Places, keeps and re-places brackets for the executor's accounts."""

    def __init__(self, executor: Executor) -> None:
        self.ex = executor
        self.follow_now: int | None = None
        """The ops clock's time of the follow turn under way (None at a candle)."""
        self.derived_ids = False
        """Pairs' client ids from position and generation (a fleet's shard sets it)."""

    # -- reading ------------------------------------------------------------------------------

    def is_protected(self, acct: AccountRuntime, pos: Position) -> bool:
        # Checked for every open position on every candle: one pass over the working orders
        # for both the market exits (summed in order, as :func:`exiting` does) and the stops.
        symbol, qty = pos.symbol, pos.qty
        if symbol in acct.bracket_book.guarded:
            return True
        pending = acct.pending_cancel
        exits = ZERO
        stopped = False
        for o in acct.orders.values():
            if o.symbol != symbol or o.client_id in pending:
                continue
            role = o.role
            if role is _EXIT_ROLE:
                exits += o.qty - o.filled_qty
            elif role is _STOP_ROLE and not stopped:
                left = o.qty - o.filled_qty
                stopped = left >= qty or left >= self.sellable(symbol, qty)
        if stopped or exits >= qty:
            return True
        # A sell of part of the position (a reduction) with the stop covering the rest.
        return exits > ZERO and (
            exits >= self.sellable(symbol, qty) or exits + stop_left(acct, symbol) >= qty
        )

    def sellable(self, symbol: str, qty: Decimal) -> Decimal:
        """The most of ``qty`` one order can sell: whole lots."""
        return self.ex.venue.instrument(symbol).floor_qty(qty)

    def is_dust(self, pos: Position, qty: Decimal | None = None) -> bool:
        """Too small for the venue to accept any order for it (a partial-fill remainder)."""
        qty = pos.qty if qty is None else qty
        inst = self.ex.venue.instrument(pos.symbol)
        return qty < inst.min_qty or qty * pos.stop_loss < inst.min_notional

    # -- refusals -----------------------------------------------------------------------------

    def refused(self, acct: AccountRuntime, order: Order, code: str = "rejected") -> None:
        """The venue refused a leg of a bracket: wait before asking again for that quantity,
        remembering what the venue said (the order's reason) for the operator."""
        acct.bracket_book.refuse(
            order.symbol, order.qty, order.oco_group or order.client_id, order.reason, code
        )

    def due(self, acct: AccountRuntime, symbol: str) -> bool:
        """One candle passed for a guarded position: whether to try its bracket again now."""
        return acct.bracket_book.due(symbol)

    # -- placing ------------------------------------------------------------------------------

    async def ensure(self, acct: AccountRuntime, symbol: str) -> None:
        """Give the position on ``symbol`` the bracket its coins need, or take it away if flat.

        The answers that need no order come first, here (no position, protection on hold, an
        exit selling, less than a lot, the pair resting for every coin): most calls end at one
        of them. A pair of another size is re-sized in place (:meth:`_resize`) or canceled and
        placed again (:meth:`_replace`)."""
        ex = self.ex
        book = acct.bracket_book
        pos = acct.ledger.positions.get(symbol)
        live = acct.working(symbol, PROTECTIVE)
        if pos is None:
            book.close(symbol)
            for order in live:
                await ex.cancel(acct, order.client_id)
            return
        if acct.account_id in ex.hold_protection:
            return  # reconciliation protects every position once it has checked them
        bracket = book.of(symbol)
        if bracket.state is BracketState.CLOSED:
            book.move(symbol, BracketState.NEW)  # a new position on the symbol
        # The instrument read once for both quantities (asked on every fill of an entry).
        floor_qty = ex.venue.instrument(symbol).floor_qty
        whole = floor_qty(pos.qty)
        selling = exiting(acct, symbol)
        if selling > 0:
            if selling < whole and not partial_exit(acct, symbol):
                # A fill that raced the exit grew the position: exit the rest too.
                await ex.exit_position(acct, symbol, "closing the rest of the position")
            return
        if whole == ZERO:
            # Less than a lot: no order can sell it. Once nothing works on it (an entry still
            # buying, a leg whose report is on its way) it is dust, and the position closes.
            if live or acct.working(symbol, _ENTRY):
                book.move(symbol, BracketState.MONITOR)
            else:
                await ex.retire_dust(acct, symbol)
            return
        locked = locked_by_cancels(acct, symbol)
        qty = floor_qty(pos.qty - locked) if locked else whole
        if self._rests(live, qty):
            if any(o.status is OrderStatus.UNKNOWN for o in live):
                # Sent, its outcome unknown (a timeout, a server error): it may rest nowhere.
                # The monitor holds the stop until the venue confirms the legs.
                book.move(symbol, BracketState.PLACED_HELD)
                return
            if locked == ZERO or not bracket.state.guarded:
                # With coins still locked by a cancel, a monitor holding the position stays.
                book.move(symbol, BracketState.RESTING)
            bracket.refusal = None
            return
        # Nothing resting (a new position's first pair) has nothing to re-size.
        if not (live and await self._resize(acct, pos, bracket, live, qty, locked)):
            await self._replace(acct, pos, bracket, live, qty, whole)

    async def _resize(
        self,
        acct: AccountRuntime,
        pos: Position,
        bracket: PositionBracket,
        live: list[Order],
        qty: Decimal,
        locked: Decimal,
    ) -> bool:
        """Keep or re-size in place the pair resting for other than ``qty`` coins: True when
        that settles the bracket, False when what rests is to be canceled and placed again."""
        symbol = pos.symbol
        book = acct.bracket_book
        if target_filling(live, qty):
            # A take-profit that has begun to fill took its stop with the first part (the
            # exchange's one-cancels-the-other): the coins left rest under no stop. Its rest is
            # canceled and a new pair placed for what is left, at once; the monitor holds the
            # stop until it rests.
            book.move(symbol, BracketState.TARGET_FILLING)
        pair = resting_pair(live)
        if pair is None:
            return False
        if refit_waits(bracket, qty):
            # A pair re-sized to the coins the exchange holds free after it refused the whole:
            # it rests, the monitor holds the rest until the refusal's wait is over.
            return True
        if locked != ZERO or qty <= ZERO:
            return False
        stop, take = pair
        growing = qty > min(stop.qty - stop.filled_qty, take.qty - take.filled_qty)
        kind = self.ex.venue.capabilities.amend
        # A venue that only lowers in place (Binance's keep-priority amend) shrinks a pair
        # larger than the holding there; its growth is canceled and replaced, stepped.
        amends = kind is Amend.BOTH or (kind is Amend.DOWN and not growing)
        if growing and not amends and not self._step_due(acct, pos, pair, qty):
            # The entry is still buying and the next step is not reached: the pair keeps
            # its size, the monitor holds the stop for the coins bought above it.
            book.move(symbol, BracketState.GROWING)
            return True
        if amends and await self.amend(acct, pair, qty):
            # Nothing locked: the pair now covers every coin that can be sold.
            book.move(symbol, BracketState.RESTING)
            bracket.refusal = None
            return True
        return False

    async def _replace(
        self,
        acct: AccountRuntime,
        pos: Position,
        bracket: PositionBracket,
        live: list[Order],
        qty: Decimal,
        whole: Decimal,
    ) -> None:
        """Cancel what rests and place a pair for ``qty``, once every cancel is confirmed and
        the venue may be asked; until then the monitor holds the stop."""
        ex = self.ex
        symbol = pos.symbol
        book = acct.bracket_book
        unconfirmed = False
        for order in live:
            if not await ex.cancel(acct, order.client_id):
                unconfirmed = True  # its coins may still be locked on the venue
        if live and any(r.account_id == acct.account_id for r in ex.pending()):
            # The cancels' answers are booked before the new pair is sized: among them may be
            # a take-profit that filled since the position was last booked, and a pair sized
            # before that fill asks for coins the venue no longer holds and is refused. (The
            # cancels themselves are then in the books, and the audit log, before the new pair.)
            await ex.drain()
            await self.ensure(acct, symbol)
            return
        if unconfirmed or locked_by_cancels(acct, symbol) > ZERO:
            # An old leg's cancel is not confirmed: until the venue reports it gone it may
            # still sell the coins a new pair would be sized for (a new pair over them could
            # sell them twice). The monitor holds the stop; the report of the cancel brings
            # the bracket back (``Executor._apply`` protects again on a leg's end).
            book.move(symbol, BracketState.CANCEL_PENDING)
            return
        now = ex.clock.now_ms()
        last_ts, tries = bracket.tries or (now, 0)
        tries = tries + 1 if last_ts == now else 1
        bracket.tries = (now, tries)
        refusal = bracket.refusal
        waiting = refusal is not None and refusal.qty == qty and not refusal.due
        if qty <= ZERO or self.is_dust(pos, qty) or tries > MAX_PROTECT_TRIES or waiting:
            # The venue would refuse the pair (dust), refused this very quantity a moment ago,
            # or keeps dropping it: the position monitor guards the stop-loss on every price
            # update instead, and the pair is tried again later.
            book.move(symbol, BracketState.REFUSED if waiting else BracketState.MONITOR)
            return
        if qty < whole:
            book.move(symbol, BracketState.PARTIAL)  # the monitor covers what the pair cannot
        prices = acct.brackets.get(pos.entry_client_id) or Bracket(pos.stop_loss, pos.take_profit)
        await self.place(acct, pos, qty, prices)

    @staticmethod
    def _rests(live: list[Order], qty: Decimal) -> bool:
        """Whether the orders on the venue already protect ``qty`` coins."""
        if len(live) == 2:
            # Both legs of a pair (either order), each with exactly ``qty`` left.
            first, second = live
            if (first.role, second.role) in (PROTECTIVE, _PROTECTIVE_SWAPPED):
                return first.remaining == qty and second.remaining == qty
        # A stop that has begun to fill was triggered: it sells at market on every candle
        # until done (its take-profit went with the first fill). Replacing it would only
        # trigger a new stop on the next candle, two more orders per candle.
        return (
            len(live) == 1
            and live[0].role is OrderRole.STOP_LOSS
            and live[0].filled_qty > ZERO
            and live[0].remaining == qty
        )

    def _step_due(
        self, acct: AccountRuntime, pos: Position, pair: tuple[Order, Order], qty: Decimal
    ) -> bool:
        """Whether a pair smaller than the position grows now: always once the entry has
        ended; while it still buys, only when the coins held pass the next of
        :data:`RESIZE_STEPS` of its intended size or :data:`GROWTH` times the pair, whichever
        is smaller (each step taken once per entry)."""
        bracket = acct.bracket_book.of(pos.symbol)
        entries = acct.working(pos.symbol, _ENTRY)
        if not entries or self._waited(bracket):
            bracket.short_since = None
            return True
        entry = next((o for o in entries if o.client_id == pos.entry_client_id), entries[0])
        covered = min(pair[0].remaining, pair[1].remaining)
        seen, taken = bracket.steps or ("", 0)
        taken = taken if seen == entry.client_id else 0
        for step in RESIZE_STEPS[taken:]:
            taken += 1
            threshold = min(entry.qty * step, covered * GROWTH)
            if threshold <= covered:
                continue  # a step the pair already passed (a large first part)
            due = qty >= threshold
            if due:
                bracket.steps = (entry.client_id, taken)
                bracket.short_since = None
            return due
        return False

    def _waited(self, bracket: PositionBracket) -> bool:
        """In a follow turn: whether the coins above the pair have waited :data:`GROW_AFTER_MS`
        (the first turn that sees them starts the wait)."""
        now = self.follow_now
        if now is None:
            return False
        if bracket.short_since is None:
            bracket.short_since = now
        return now - bracket.short_since >= GROW_AFTER_MS

    async def amend(self, acct: AccountRuntime, pair: tuple[Order, Order], qty: Decimal) -> bool:
        """Re-size a resting pair in place; False (nothing changed here) when the venue did
        not, and the pair is canceled and placed again instead."""
        ex = self.ex
        stop, take = pair
        venue = cast(AmendingVenue, ex.venue)
        try:
            await venue.amend_oco(acct.account_id, stop.client_id, take.client_id, qty)
        except (VenueError, OutcomeUnknown, TimeoutError, ConnectionError) as exc:
            log.info("amend_failed", account_id=acct.account_id, order=stop.client_id, why=exc)
            return False
        now = ex.clock.now_ms()
        for leg in pair:
            leg.qty = leg.filled_qty + qty
            leg.updated_at = now
            ex.publish_amend(leg)
        return True

    async def place(
        self,
        acct: AccountRuntime,
        pos: Position,
        qty: Decimal,
        bracket: Bracket,
        refit: bool = False,
    ) -> None:
        """Send the pair for ``qty``. Refused for lack of funds or by a market filter, what the
        exchange can take is read again at once and the pair re-sized to it (``refit``: once,
        :mod:`rampart.trading.refit`): a stop rests for it and the monitor holds the rest."""
        ex = self.ex
        book = acct.bracket_book
        mine = book.of(pos.symbol)
        # A fleet's shard derives them from the position (a second holder's copy is refused).
        ids = mine.derived_ids(acct.account_id, pos.entry_client_id) if self.derived_ids else None
        stop_id, take_id = ids or (acct.next_client_id(_STOP_ROLE), acct.next_client_id(_TAKE))
        stop = Order(
            client_id=stop_id,
            account_id=acct.account_id,
            symbol=pos.symbol,
            side=Side.SELL,
            type=OrderType.STOP_MARKET,
            qty=qty,
            role=OrderRole.STOP_LOSS,
            stop_price=bracket.stop_loss,
            parent_id=pos.entry_client_id,
            strategy=pos.strategy,
        )
        take = Order(
            client_id=take_id,
            account_id=acct.account_id,
            symbol=pos.symbol,
            side=Side.SELL,
            type=OrderType.LIMIT,
            qty=qty,
            role=OrderRole.TAKE_PROFIT,
            price=bracket.take_profit,
            parent_id=pos.entry_client_id,
            strategy=pos.strategy,
        )
        stop.oco_group = take.oco_group = stop.client_id
        ex.register(acct, stop)
        ex.register(acct, take)
        refusal = mine.refusal
        if refusal is not None:
            refusal.due = False  # this try spends the one that was due
        try:
            await ex.venue.submit_oco(stop, take)
        except (VenueError, OutcomeUnknown, TimeoutError, ConnectionError) as exc:
            ex.fail_locally(acct, stop, exc)
            ex.fail_locally(acct, take, exc)
            refused = isinstance(exc, VenueError)
            if refused:
                code = cast(VenueError, exc).code
                self.refused(acct, stop, code)
                better = None if refit else await refit_pair(ex, acct, pos, qty, bracket, code)
                if better is not None:
                    # What can rest goes at once; the monitor holds any coins above it.
                    book.move(pos.symbol, BracketState.PARTIAL)
                    await self.place(acct, pos, better.qty, better.prices, refit=True)
                    return
            # Until a retry puts the pair on the venue, the position monitor holds the stop.
            book.move(pos.symbol, BracketState.REFUSED if refused else BracketState.MONITOR)
            return
        state = mine.state
        if state is not BracketState.PARTIAL:
            # Sent while the monitor held the position, it holds on until the pair rests.
            book.move(
                pos.symbol, BracketState.PLACED_HELD if state.guarded else BracketState.PLACED
            )
