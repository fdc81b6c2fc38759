"""Orders and their state machine.

``NEW → SUBMITTED → PARTIALLY_FILLED → FILLED | CANCELED | REJECTED | EXPIRED``, plus
``UNKNOWN`` when a submit or cancel timed out; an ``UNKNOWN`` order is resolved only by
asking the venue. Any other move raises :class:`IllegalTransition`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from rampart.domain.errors import IllegalTransition
from rampart.domain.money import ZERO


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"


class OrderRole(StrEnum):
    ENTRY = "entry"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    EXIT = "exit"
    EXTERNAL = "external"
    """Done outside Rampart (by hand on the exchange): found by reconciliation, never sent."""

    @property
    def protective(self) -> bool:
        return self in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


class OrderStatus(StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def open(self) -> bool:
        return self not in TERMINAL


TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)

_S = OrderStatus
LEGAL_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED, _S.UNKNOWN}),
    _S.SUBMITTED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED, _S.EXPIRED, _S.UNKNOWN}
    ),
    _S.PARTIALLY_FILLED: frozenset(
        {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED, _S.UNKNOWN}
    ),
    _S.UNKNOWN: frozenset(
        {_S.SUBMITTED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.REJECTED, _S.EXPIRED}
    ),
    _S.FILLED: frozenset(),
    _S.CANCELED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}


def can_transition(old: OrderStatus, new: OrderStatus) -> bool:
    return new in LEGAL_TRANSITIONS[old]


_ROLE_LETTER = {
    OrderRole.ENTRY: "e",
    OrderRole.STOP_LOSS: "s",
    OrderRole.TAKE_PROFIT: "t",
    OrderRole.EXIT: "x",
}


def client_order_id(account_id: str, seq: int, role: OrderRole) -> str:
    """Deterministic id: the same account, sequence and role always give the same id.

    A retried submit reuses it, so the venue can refuse a duplicate. Binance accepts at most
    36 characters of ``[.A-Z:/a-z0-9_-]``, hence the short hash of the account id.
    """
    prefix = _PREFIXES.get(account_id)
    if prefix is None:
        if len(_PREFIXES) >= _PREFIXES_KEPT:
            _PREFIXES.clear()
        # A short stable name for the account, not a security measure.
        digest = hashlib.sha1(account_id.encode(), usedforsecurity=False).hexdigest()
        prefix = _PREFIXES[account_id] = f"rp-{digest[:8]}-"
    return f"{prefix}{seq:010d}-{_ROLE_LETTER[role]}"


_PREFIXES: dict[str, str] = {}
"""``rp-<hash>-`` per account id: the SHA-1 is the same on every call (three per open and close)."""
_PREFIXES_KEPT = 100_000


_ENTRY_ID = re.compile(r"^(rp-[0-9a-f]{8}-)(\d{10})-e$")
_PROTECTIVE_ID = re.compile(r"-[st]\d*$")


def protective_client_id(
    account_id: str, entry_client_id: str, generation: int, role: OrderRole
) -> str | None:
    """The id of a position's protective leg, from the position and the bracket's generation.

    ``<the entry's id, its role letter replaced by the leg's><generation>``: every holder of the
    shard that resumes from the same saved state derives the same id for the same placement,
    so a second copy of a pair is refused by the exchange as a duplicate and rests once (a
    holder cut off from the database, another that took the shard meanwhile). None when the
    position's entry is not one of this account's own ids (an adopted or restored position):
    the caller numbers the leg as any other order.
    """
    match = _ENTRY_ID.match(entry_client_id)
    if match is None or generation < 1:
        return None
    if client_order_id(account_id, 0, OrderRole.ENTRY)[:12] != match.group(1):
        return None
    return f"{match.group(1)}{match.group(2)}-{_ROLE_LETTER[role]}{generation}"


def is_protective_id(client_id: str) -> bool:
    """Whether ``client_id`` names a stop-loss or take-profit leg Rampart made (either form)."""
    return client_id.startswith("rp-") and _PROTECTIVE_ID.search(client_id) is not None


@dataclass(slots=True)
class Order:
    client_id: str
    account_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    role: OrderRole
    price: Decimal | None = None
    stop_price: Decimal | None = None
    status: OrderStatus = OrderStatus.NEW
    filled_qty: Decimal = ZERO
    avg_fill_price: Decimal = ZERO
    fees: Decimal = ZERO
    venue_order_id: str | None = None
    oco_group: str | None = None
    parent_id: str | None = None
    """For protective and exit orders: the client id of the entry they belong to."""
    strategy: str = ""
    created_at: int = 0
    updated_at: int = 0
    reason: str = ""
    history: list[tuple[int, OrderStatus]] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL

    def transition(self, new: OrderStatus, ts: int, reason: str = "") -> None:
        if not can_transition(self.status, new):
            raise IllegalTransition(
                f"order {self.client_id}: {self.status.value} -> {new.value} is not allowed"
            )
        self.status = new
        self.updated_at = ts
        self.history.append((ts, new))
        if reason:
            self.reason = reason

    def settle_at(self, executed: Decimal) -> None:
        """The venue's last word on an order that executes once (a swap): its quantity is
        what was executed in the end, so the fill that brings it there completes it."""
        if executed <= self.filled_qty:
            raise ValueError(f"order {self.client_id}: {executed} is not more than already filled")
        self.qty = executed

    def record_fill(self, qty: Decimal, price: Decimal, fee: Decimal, ts: int) -> None:
        """Book a fill against this order and move it to PARTIALLY_FILLED or FILLED."""
        if qty <= ZERO:
            raise ValueError("fill quantity must be positive")
        filled = self.filled_qty
        remaining = self.qty - filled  # self.remaining, worked out once
        if qty > remaining:
            raise IllegalTransition(
                f"order {self.client_id}: fill of {qty} exceeds remaining {remaining}"
            )
        total = filled + qty
        self.avg_fill_price = (self.avg_fill_price * filled + price * qty) / total
        self.filled_qty = total
        self.fees += fee
        new = OrderStatus.FILLED if total == self.qty else OrderStatus.PARTIALLY_FILLED
        self.transition(new, ts)

    def snapshot(self) -> Order:
        """An independent copy for events: later changes to this order do not leak into it."""
        # Every order event carries one; plain assignments are ~5x faster than
        # dataclasses.replace, which matters with a thousand accounts on one candle.
        c = object.__new__(Order)
        c.client_id, c.account_id, c.symbol = self.client_id, self.account_id, self.symbol
        c.side, c.type, c.qty, c.role = self.side, self.type, self.qty, self.role
        c.price, c.stop_price, c.status = self.price, self.stop_price, self.status
        c.filled_qty, c.avg_fill_price, c.fees = self.filled_qty, self.avg_fill_price, self.fees
        c.venue_order_id, c.oco_group, c.parent_id = (
            self.venue_order_id,
            self.oco_group,
            self.parent_id,
        )
        c.strategy, c.created_at, c.updated_at = self.strategy, self.created_at, self.updated_at
        c.reason, c.history = self.reason, list(self.history)
        return c
