"""What protects each held position now, read from the real orders, in the operator's words.

A position is in one of three states (:class:`Cover`):

- **protected by the exchange**: a stop-loss rests on the venue for every coin that can be sold
  (or a market sell is already closing the position);
- **protected by Rampart's monitor (why)**: no stop rests for every coin, and the position
  monitor (``acct.guarded``) holds the stop price itself and exits at market when a price
  crosses it; *why* says what keeps the stop off the exchange (the venue's refusal in its own
  words, a cancel not confirmed, an entry still buying above the pair...);
- **UNPROTECTED (since when)**: neither; nothing sells the coins if the price falls.

"Rests" is read from the orders the venue accepted: a stop the venue refused, one whose outcome
is unknown, or one asked to cancel rests nowhere, whatever the position's ``stop_loss`` says.
:func:`observe` runs after every event of an account (the engine's invariants), keeps since
when no stop rests on the exchange for a position (``PositionBracket.bare_since``, on the
Clock) and tells each change with a :class:`~rampart.domain.events.ProtectionChanged`, which
the metrics turn into the ``PositionUnprotected`` alert.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial

from rampart.domain.events import ProtectionChanged
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.domain.positions import Position
from rampart.trading.account import AccountRuntime
from rampart.trading.bracket import BracketState, PositionBracket


class Cover(StrEnum):
    EXCHANGE = "exchange"
    MONITOR = "monitor"
    UNPROTECTED = "unprotected"


FLAT = "flat"
"""The cover told when the position is gone (its alert resolves)."""

WHY_HELD: dict[BracketState, str] = {
    BracketState.PLACED_HELD: "a new stop was sent and is not confirmed yet",
    BracketState.PARTIAL: "coins are locked by a cancel the exchange has not confirmed",
    BracketState.GROWING: "the entry is still buying above the stop, which grows within seconds",
    BracketState.CANCEL_PENDING: "an old stop's cancel is not confirmed yet",
    BracketState.REFUSED: "the exchange refused the stop",
    BracketState.TARGET_FILLING: "the take-profit is filling and the exchange canceled its stop",
    BracketState.MONITOR: "no stop can rest for it now (below the exchange's minimum order, or "
    "the exchange did not answer)",
    BracketState.MOVING: "the stop is being moved",
    BracketState.REDUCING: "part of the position is being sold",
    BracketState.ADDING: "an addition is buying above the stop",
}
"""Why the monitor holds a position, by the state its bracket is in."""

_RESTING = (OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
"""Statuses of an order the venue took (NEW once its submit returned: a refused or unanswered
one is REJECTED or UNKNOWN by then). UNKNOWN rests nowhere we know of."""


@dataclass(frozen=True, slots=True)
class Protection:
    """One position's protection: what covers it, why, and since when no stop rests."""

    cover: Cover
    why: str = ""
    reason: str = ""
    """A short stable code: the venue's refusal code, the bracket's state, or ``none``."""
    since: int | None = None
    """Since when (the Clock's ms) no stop on the exchange covers every coin; None if one does."""
    resting_stop: Decimal | None = None
    """The price of the stop resting on the exchange; None when none rests."""

    @property
    def text(self) -> str:
        if self.cover is Cover.EXCHANGE:
            return "protected by the exchange"
        if self.cover is Cover.MONITOR:
            return f"protected by Rampart's monitor ({self.why})"
        when = "" if self.since is None else f" (since {clock_text(self.since)})"
        return f"UNPROTECTED{when}"


def clock_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def read(
    acct: AccountRuntime, pos: Position, floor_qty: Callable[[Decimal], Decimal], now: int
) -> Protection:
    """The position's protection from its orders and bracket, without changing anything (the
    API and the bot read it); ``since`` is the one :func:`observe` kept, else ``now``."""
    symbol, qty = pos.symbol, pos.qty
    pending = acct.pending_cancel
    stop_left, stop_price, exits = ZERO, None, ZERO
    for o in acct.orders.values():
        if o.symbol != symbol or o.client_id in pending or o.status not in _RESTING:
            continue
        if o.role is OrderRole.STOP_LOSS:
            left = o.qty - o.filled_qty
            if left > stop_left:
                stop_left, stop_price = left, o.stop_price
        elif o.role is OrderRole.EXIT:
            exits += o.qty - o.filled_qty
    whole = floor_qty(qty)
    covered = stop_left + exits
    if covered > ZERO and (covered >= qty or covered >= whole):
        why = "a market sell is closing it" if exits > ZERO else ""
        return Protection(Cover.EXCHANGE, why, "", None, stop_price)
    bracket = acct.bracket_book.get(symbol)
    since = now if bracket is None or bracket.bare_since is None else bracket.bare_since
    if bracket is not None and bracket.state.guarded:
        why, reason = _why_held(bracket)
        if stop_left > ZERO:
            why = f"the stop on the exchange covers {stop_left} of {qty}; {why}"
        return Protection(Cover.MONITOR, why, reason, since, stop_price)
    return Protection(
        Cover.UNPROTECTED,
        "no stop rests and the monitor does not hold it",
        "none",
        since,
        stop_price,
    )


_REFUSING = (BracketState.REFUSED, BracketState.MONITOR, BracketState.PARTIAL)
"""States in which a refusal the bracket remembers is why no stop rests for every coin."""


def _why_held(bracket: PositionBracket) -> tuple[str, str]:
    state, refusal = bracket.state, bracket.refusal
    if refusal is not None and state in _REFUSING:
        said = refusal.why or "no reason given"
        return f"the exchange refused the stop: {said}", refusal.code or "rejected"
    return WHY_HELD.get(state, state.value), state.value


def observe(
    acct: AccountRuntime,
    floor_qty: Callable[[str, Decimal], Decimal],
    now: int,
    publish: Callable[[ProtectionChanged], None],
) -> None:
    """Read every held position's protection, keep since when each is without a stop on the
    exchange, and publish each change (a position gone is told as :data:`FLAT`)."""
    book = acct.bracket_book
    positions = acct.ledger.positions
    for symbol, pos in positions.items():
        seen = read(acct, pos, partial(floor_qty, symbol), now)
        bracket = book.of(symbol)
        if seen.cover is Cover.EXCHANGE:
            bracket.bare_since = None
        elif bracket.bare_since is None:
            bracket.bare_since = seen.since
        told = f"{seen.cover.value}:{seen.reason}"
        if told != bracket.cover:
            bracket.cover = told
            publish(
                ProtectionChanged(
                    now,
                    acct.account_id,
                    symbol,
                    seen.cover.value,
                    seen.reason,
                    seen.why,
                    bracket.bare_since,
                )
            )
    for symbol in book:
        gone = book.get(symbol)
        if gone is not None and gone.cover and symbol not in positions:
            gone.cover, gone.bare_since = "", None
            publish(ProtectionChanged(now, acct.account_id, symbol, FLAT, "", "", None))


__all__ = ["FLAT", "WHY_HELD", "Cover", "Protection", "clock_text", "observe", "read"]


def bare_positions(
    held: Mapping[str, AccountRuntime],
    instrument: Callable[[str], Instrument],
    now: int,
    accounts: Collection[str] | None = None,
) -> list[str]:
    """``account symbol qty`` of each position of ``held`` (of ``accounts``, default all) for
    which no stop rests on the exchange for every coin, read from the orders the venue
    accepted; ``instrument`` is the venue's (its lots)."""
    out: list[str] = []
    for account_id, acct in held.items():
        if accounts is not None and account_id not in accounts:
            continue
        for symbol in sorted(acct.ledger.positions):
            pos = acct.ledger.positions[symbol]
            floor = instrument(symbol).floor_qty
            if read(acct, pos, floor, now).cover is not Cover.EXCHANGE:
                out.append(f"{account_id} {symbol} {pos.qty}")
    return out
