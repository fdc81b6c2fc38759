"""Ports: what the engine needs from venues, feeds and storage, as Protocol classes.

The engine imports only these; concrete adapters are chosen in ``rampart.app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from rampart.domain.candles import Candle
from rampart.domain.fills import Balance, Fill
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderStatus


@dataclass(frozen=True, slots=True)
class VenueReport:
    """Something the venue says happened to one order.

    ``status`` is the order's status on the venue after this report. ``fill`` is present when
    the report is an execution. ``code``/``reason`` explain rejections and expiries.
    """

    account_id: str
    client_id: str
    status: OrderStatus
    ts: int
    fill: Fill | None = None
    venue_order_id: str | None = None
    code: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """The venue's view of one order, as returned by fetch calls."""

    client_id: str
    symbol: str
    status: OrderStatus
    qty: Decimal
    filled_qty: Decimal
    avg_price: Decimal
    venue_order_id: str | None = None


VenueListener = Callable[[VenueReport], None]


@runtime_checkable
class Venue(Protocol):
    name: str

    def set_listener(self, listener: VenueListener) -> None:
        """Reports are delivered by calling ``listener``; it only queues, never re-enters."""

    def instrument(self, symbol: str) -> Instrument: ...

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None: ...

    async def submit(self, order: Order) -> None:
        """Send one order. Outcomes (accepted, filled, rejected) arrive as reports."""

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        """Send a stop-loss and a take-profit that cancel each other when one fills."""

    async def cancel(self, account_id: str, client_id: str) -> None: ...

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None: ...

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]: ...

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]: ...


@runtime_checkable
class MarketDrivenVenue(Venue, Protocol):
    """A venue that matches against the candle stream (the paper venue)."""

    def on_candle(self, candle: Candle) -> None:
        """Match resting orders against this candle; reports go to the listener."""


@runtime_checkable
class PolledVenue(Venue, Protocol):
    """A venue whose orders rest on a remote exchange: the engine asks it what changed."""

    async def poll(self) -> None:
        """Fetch news of the orders this venue sent (fills, cancels); reports go to the
        listener. Called before each candle is acted on."""


class CandleFeed(Protocol):
    """A stream of closed candles for one or more symbols, in time order."""

    def candles(self) -> AsyncIterator[Candle]: ...
