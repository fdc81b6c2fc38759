"""Typed domain events published on the in-process bus.

The store, the live view and (later) metrics, alerts and the audit log subscribe to them.
Every event carries ``ts`` in UTC milliseconds from the Clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.domain.candles import Candle
from rampart.domain.fills import Fill
from rampart.domain.intents import Intent
from rampart.domain.orders import Order, OrderStatus
from rampart.domain.positions import ClosedTrade, Position
from rampart.domain.quick import quick_init


@quick_init
@dataclass(frozen=True, slots=True)
class Event:
    ts: int


@quick_init
@dataclass(frozen=True, slots=True)
class CandleClosed(Event):
    candle: Candle


@quick_init
@dataclass(frozen=True, slots=True)
class IntentProposed(Event):
    intent: Intent
    trace: str | None = None
    """The client id of the entry order the intent became: the trace id ``rampart trace``
    follows. None for an intent the risk engine refused or one that closes a position."""


@quick_init
@dataclass(frozen=True, slots=True)
class IntentRejected(Event):
    intent: Intent
    code: str
    message: str


@quick_init
@dataclass(frozen=True, slots=True)
class OrderUpdated(Event):
    order: Order
    """A snapshot taken when the event was published."""
    previous: OrderStatus


@quick_init
@dataclass(frozen=True, slots=True)
class FillBooked(Event):
    fill: Fill
    role: str
    strategy: str


@quick_init
@dataclass(frozen=True, slots=True)
class PositionChanged(Event):
    account_id: str
    symbol: str
    position: Position | None
    """A copy of the position after the change; None when it closed."""


@quick_init
@dataclass(frozen=True, slots=True)
class TradeClosed(Event):
    trade: ClosedTrade


@quick_init
@dataclass(frozen=True, slots=True)
class EquitySnapshot(Event):
    account_id: str
    cash: Decimal
    positions_value: Decimal
    equity: Decimal
    realized_pnl: Decimal


@quick_init
@dataclass(frozen=True, slots=True)
class AccountStateChanged(Event):
    account_id: str
    old: TradingState
    new: TradingState
    reason: str
    cause: str = ""
    """What now restricts the account (a restriction's cause: ``daily_loss``, ``cooldown``,
    ``venue_report``, ...); empty when ``new`` is ACTIVE. The alerts page for a halt, not for a
    losing-streak cooldown."""


@quick_init
@dataclass(frozen=True, slots=True)
class CapitalChanged(Event):
    """Money put into (+) or taken out of (−) an account: not profit or loss."""

    account_id: str
    old: Decimal
    new: Decimal
    actor: str

    @property
    def delta(self) -> Decimal:
        return self.new - self.old


@quick_init
@dataclass(frozen=True, slots=True)
class BreakerTripped(Event):
    account_id: str
    breaker: str
    message: str


@quick_init
@dataclass(frozen=True, slots=True)
class KillSwitchChanged(Event):
    scope: str
    """``global`` or an account id."""
    engaged: bool
    reason: str
    actor: str
    flatten: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class InvariantViolated(Event):
    account_id: str
    invariant: str
    detail: str


@quick_init
@dataclass(frozen=True, slots=True)
class AgentFaulted(Event):
    """An agent's decision refused at the boundary (``rampart.agents.boundary``): it answered
    something the engine cannot act on, raised, or overran its deadline."""

    account_id: str
    agent: str
    symbol: str
    kind: str
    """``answer``, ``raised`` or ``overran``."""
    sentence: str
    in_a_row: int
    """Faults of this account's agent in a row, this one included."""


@quick_init
@dataclass(frozen=True, slots=True)
class ReconciliationRepaired(Event):
    """Reconciliation found the books differ from the venue and applied the venue's truth.

    ``kind`` names the repair (``fill_booked``, ``order_closed``, ``order_unknown_resolved``,
    ``order_adopted``, ``unknown_venue_order``, ``balance_adjusted``, ``position_adjusted`` …);
    ``detail`` says in words what differed and what was done.
    """

    account_id: str
    kind: str
    client_id: str | None
    symbol: str | None
    detail: str


@quick_init
@dataclass(frozen=True, slots=True)
class ReportUnexplained(Event):
    """The venue reported something the books cannot take (a sell beyond the position, a
    fill for an order the books do not hold): the account trades close-only until an
    operator has looked. ``client_id`` names the order."""

    account_id: str
    client_id: str | None
    symbol: str | None
    detail: str


@quick_init
@dataclass(frozen=True, slots=True)
class BooksDiffer(Event):
    """After a reconciliation pass's repairs, an account's books still differ from the venue:
    ``passes`` passes in a row now (0: they match again). The P0 BooksDifferUnrepaired."""

    account_id: str
    passes: int
    detail: str


@quick_init
@dataclass(frozen=True, slots=True)
class ProtectionChanged(Event):
    """What protects a held position changed (``rampart.trading.protection_state``): ``cover``
    is ``exchange`` (a stop rests on the venue), ``monitor`` (Rampart's monitor holds the stop,
    ``why``), ``unprotected``, or ``flat`` (the position is gone). ``reason`` is a short code
    (the venue's refusal code, the bracket's state); ``since`` when no stop rests on the venue
    for every coin (None while one does). The ``PositionUnprotected`` alert reads it."""

    account_id: str
    symbol: str
    cover: str
    reason: str
    why: str
    since: int | None
