"""What the operator facade's commands answer with: the account as it stands, each working
entry's outcome after a kill switch or a pause, and the command's figures and sentence; and
the checks every front's input goes through (a reason, a capital)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rampart.domain.errors import RampartError
from rampart.domain.orders import Order, OrderStatus
from rampart.risk.restrictions import Restriction, why

OPERATOR_OWNER = "operator"
"""Owner of the accounts an operator starts at run time (they are restored on restart)."""
STOPPED = "engine stopped"
"""Pause reasons starting with this mark an engine an operator stopped."""
MIN_CAPITAL = Decimal(10)
MAX_CAPITAL = Decimal("1e12")


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """What became of one working entry order when the kill switch or a pause stood it down."""

    account_id: str
    client_id: str
    symbol: str
    outcome: str
    """``canceled`` (the venue confirmed it), ``filled`` (it filled before the cancel landed),
    ``unknown`` (not confirmed either way: reconciliation asks the venue), or the order's own
    final status (``expired``, ``rejected``)."""


def _outcome(order: Order) -> str:
    # Only the venue's word counts: a cancel sent but not confirmed is not "canceled".
    if order.status is OrderStatus.FILLED:
        return "filled"
    if order.status.terminal:
        return order.status.value
    return "unknown"


@dataclass(frozen=True, slots=True)
class KillSwitchState:
    """The kill switch as it stands: engaged or not, since when, by whom and why."""

    engaged: bool
    reason: str
    actor: str
    since_ms: int | None


@dataclass(frozen=True, slots=True)
class KillSwitchResult:
    engaged: bool
    changed: bool
    reason: str
    actor: str
    flatten: bool
    accounts: int
    entries_canceled: int
    positions_flattened: int
    message: str
    entries_unknown: int = 0
    """Entry orders whose cancel the venue has not confirmed: they may still fill."""
    entries: tuple[EntryOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountSummary:
    account_id: str
    owner: str
    agent: str
    profile: str
    symbols: tuple[str, ...]
    quote: str
    capital: Decimal
    equity: Decimal
    realized_pnl: Decimal
    state: str
    status: str
    """active, reducing, halted (breakers), paused (operator) or stopped (engine stopped)."""
    paused: bool
    pause_reason: str
    open_positions: int
    working_orders: int
    restrictions: tuple[Restriction, ...] = ()
    """Why it does not trade normally (kill switch, pause, breaker…), with the figures."""

    @property
    def why(self) -> str:
        return why(self.restrictions)


@dataclass(frozen=True, slots=True)
class AccountActionResult:
    account: AccountSummary
    entries_canceled: int
    positions_flattened: int
    message: str
    entries_unknown: int = 0
    entries: tuple[EntryOutcome, ...] = ()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _clean_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise RampartError("Give a reason: it is recorded with who did what.")
    return text


def parse_capital(value: Decimal | str | int | float) -> Decimal:
    """A starting capital, refusing in one sentence anything no real account would hold."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise RampartError(f"Capital must be a number, like 1000; got {value!r}.") from None
    if not amount.is_finite() or amount <= 0:
        raise RampartError(f"Capital must be a positive amount; got {value}.")
    if amount < MIN_CAPITAL:
        raise RampartError(f"Capital of {value} is too small to trade; use at least {MIN_CAPITAL}.")
    if amount > MAX_CAPITAL:
        raise RampartError(f"Capital of {value} is beyond any real account; use at most 1e12.")
    return amount


__all__ = [
    "MAX_CAPITAL",
    "MIN_CAPITAL",
    "OPERATOR_OWNER",
    "STOPPED",
    "AccountActionResult",
    "AccountSummary",
    "EntryOutcome",
    "KillSwitchResult",
    "KillSwitchState",
    "parse_capital",
]
