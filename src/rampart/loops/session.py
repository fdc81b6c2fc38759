"""The trading session as the loops and the fleet drive it: a port, so that neither package
imports the composition root that builds it (``rampart.wiring.session.TradingSession``
satisfies it). It adds to the facade's view of a session
(:class:`~rampart.operator.session.Session`) what trading candles needs: open it, warm and
trade candles through its price guard, and stop."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from rampart.domain.candles import Candle
from rampart.market.price_guard import PriceGuard
from rampart.market.second_reading import SecondOpinions
from rampart.ml.registry import RegistryModels
from rampart.operator.session import Session
from rampart.trading.ports import Venue


class EngineSession(Session, Protocol):
    venue: Venue
    prices: PriceGuard
    """Every candle and price tick passes it before the engine sees it."""
    opinions: SecondOpinions | None
    models: RegistryModels | None
    cursor: int
    """Candles of the stream traded so far (a simulated feed's resume point)."""
    on_store: Callable[[bool], None] | None
    store_unanswered: bool
    """The store is down because the database does not answer (what DatabaseDown reads)."""

    async def open(self) -> int: ...

    def warm(
        self, candle: Candle, admitted: tuple[Candle, ...] | None = None
    ) -> tuple[Candle, ...]: ...

    async def process(
        self,
        candle: Candle,
        now_ms: int | None = None,
        *,
        record: bool = False,
        admitted: tuple[Candle, ...] | None = None,
    ) -> tuple[Candle, ...]: ...

    async def settle(self, *, record: bool = False) -> tuple[Candle, ...]: ...

    async def on_price(self, symbol: str, price: Decimal, ts: int) -> None: ...

    def record_close(self, candle: Candle) -> None: ...

    @property
    def checkpoint_seen(self) -> dict[str, int] | None: ...

    def finish_resume(self) -> None: ...

    @property
    def store_down(self) -> bool: ...

    def store_unreachable(self, detail: str) -> None: ...

    def discard(self) -> None: ...


__all__ = ["EngineSession"]
