"""The running trading session as the operator facade sees it: a port, so this package never
imports the wiring that builds it (``rampart.wiring.session.TradingSession`` satisfies it)."""

from __future__ import annotations

from typing import Any, Protocol

from rampart.clock import Clock
from rampart.operator.settings import Settings
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine


class Session(Protocol):
    @property
    def settings(self) -> Settings: ...

    clock: Clock
    bus: EventBus
    engine: Engine
    db: Any
    """The store's SQLAlchemy engine once the session is open (``sa.Engine``)."""
    writer: StoreWriter | None

    def checkpoint(self) -> None: ...

    async def checkpoint_off_loop(self) -> bool: ...
