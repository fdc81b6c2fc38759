"""What the engine checks after every event that may break an invariant, and how a broken one
is told (an error logged, ``InvariantViolated`` published, the engine's count raised)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import structlog

from rampart.domain.events import InvariantViolated
from rampart.domain.money import ZERO
from rampart.trading.account import AccountRuntime
from rampart.trading.protection_state import observe

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.trading.bus import EventBus
    from rampart.trading.execution import Executor

log = structlog.get_logger("rampart.engine")

# Average entry prices are divisions rounded at 28 significant digits: the cash and PnL views
# of equity may differ in the last digits, never by anything near a money unit.
EQUITY_TOLERANCE = Decimal("1e-18")


class CheckedEngine(Protocol):
    """What the checks read and count on the engine (the :class:`Engine` they run after)."""

    violations: int

    @property
    def executor(self) -> Executor: ...

    @property
    def tells_protection(self) -> bool: ...

    @property
    def bus(self) -> EventBus: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def marks(self) -> dict[str, Decimal]: ...

    @property
    def equity_snapshot_ms(self) -> int: ...

    def publish_equity(self, acct: AccountRuntime, now: int) -> None: ...


def after_event(engine: CheckedEngine, acct: AccountRuntime, now: int) -> None:
    """The invariants after an event of ``acct`` (a live stop-loss under every position, both
    views of equity equal, cash not negative), and its equity snapshot when one is due."""
    ledger = acct.ledger
    for pos in ledger.positions.values():
        if not engine.executor.is_protected(acct, pos):
            _violation(engine, acct, "stop_loss", f"{pos.symbol} open without a live stop-loss")
    # What protects each position, kept and told as it changes (the PositionUnprotected alert).
    if engine.tells_protection:
        observe(acct, engine.executor.protection.sellable, now, engine.bus.publish)
    if ledger.fills_booked != acct.checked_fills:
        # Both views are linear in the marks with the same quantities, so the identity
        # can only break when a fill changed the ledger; checking then is enough.
        acct.checked_fills = ledger.fills_booked
        equity = ledger.equity(engine.marks)
        gap = abs(equity - ledger.pnl_equity(engine.marks))
        if gap > ledger.capital * EQUITY_TOLERANCE:
            _violation(engine, acct, "equity", f"cash view {equity} differs from PnL by {gap}")
    if ledger.cash < ZERO:
        _violation(engine, acct, "cash", f"cash is negative: {ledger.cash}")
    if now >= acct.next_equity_snapshot_ts:
        engine.publish_equity(acct, now)
        step = engine.equity_snapshot_ms
        acct.next_equity_snapshot_ts = (now // step + 1) * step


def _violation(engine: CheckedEngine, acct: AccountRuntime, invariant: str, detail: str) -> None:
    engine.violations += 1
    log.error("invariant_violated", account_id=acct.account_id, invariant=invariant)
    engine.bus.publish(InvariantViolated(engine.clock.now_ms(), acct.account_id, invariant, detail))
