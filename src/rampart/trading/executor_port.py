"""What the order helpers ask of the executor: the bracket keeper
(:mod:`rampart.trading.protection`), the stop and size moves (:mod:`rampart.trading.moves`) and
the bracket refits (:mod:`rampart.trading.refit`) take an :class:`ExecutorPort`, which
:class:`rampart.trading.execution.Executor` is. The executor imports them to run; they read
this module, below both, so the executor's files form no circle."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.domain.orders import Order
    from rampart.domain.positions import Position
    from rampart.trading.account import AccountRuntime
    from rampart.trading.bus import EventBus
    from rampart.trading.ports import Venue, VenueReport


class BracketKeeper(Protocol):
    """What the moves ask of the executor's protector."""

    def is_dust(self, pos: Position, qty: Decimal | None = None) -> bool: ...

    async def amend(
        self, acct: AccountRuntime, pair: tuple[Order, Order], qty: Decimal
    ) -> bool: ...


class ExecutorPort(Protocol):
    """The executor as its helpers see it: the venue, the bus, the clock, and how an order is
    registered, sent, canceled and failed."""

    @property
    def venue(self) -> Venue: ...

    @property
    def bus(self) -> EventBus: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def hold_protection(self) -> set[str]: ...

    @property
    def protection(self) -> BracketKeeper: ...

    def publish_amend(self, order: Order) -> None: ...

    def register(self, acct: AccountRuntime, order: Order) -> None: ...

    def fail_locally(self, acct: AccountRuntime, order: Order, exc: Exception) -> None: ...

    def pending(self) -> list[VenueReport]: ...

    async def submit(self, acct: AccountRuntime, order: Order) -> None: ...

    async def cancel(self, acct: AccountRuntime, client_id: str) -> bool: ...

    async def exit_position(self, acct: AccountRuntime, symbol: str, reason: str) -> None: ...

    async def ensure_protection(self, acct: AccountRuntime, symbol: str) -> None: ...

    async def drain(self, *, held: bool = False) -> None: ...

    async def retire_dust(self, acct: AccountRuntime, symbol: str) -> None: ...


__all__ = ["BracketKeeper", "ExecutorPort"]
