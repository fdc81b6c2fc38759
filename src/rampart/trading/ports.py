"""Ports: what the engine needs from venues, feeds and storage, as Protocol classes.

The engine imports only these; concrete adapters are chosen in ``rampart.wiring.session``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.fills import Balance, Fill
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderStatus, OrderType, Side
from rampart.domain.quick import quick_init


@quick_init
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
    whole: bool = False
    """The fill is the order's whole execution (a swap executes once): its quantity is what
    the order came to, however near the order's own it landed (an exact-input swap is sized
    from a price), and the order ends with it."""


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
    side: Side | None = None
    type: OrderType | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    ts: int = 0
    """When the venue created the order (UTC ms; 0 when it does not say)."""


VenueListener = Callable[[VenueReport], None]


class Updates(Enum):
    """How news of a venue's orders reaches the engine."""

    CANDLES = "candles"
    """It matches resting orders against the candle stream: the engine hands it each candle
    (:meth:`MarketDrivenVenue.on_candle`) before acting on it (the paper venue)."""
    POLLED = "polled"
    """Its orders rest elsewhere: the engine asks it what changed (:meth:`PolledVenue.poll`)
    before each candle and each price (an exchange, a chain)."""
    PUSHED = "pushed"
    """Reports reach the listener by themselves; the engine asks nothing."""


class Amend(Enum):
    """What a venue can do to a resting stop-loss/take-profit pair's quantity in place."""

    NONE = "none"
    """Nothing: every re-size cancels the pair and places it again."""
    DOWN = "down"
    """Only lower it (Binance's "Order Amend Keep Priority": a new quantity above the old one
    is refused). A pair larger than what is held shrinks in place, same ids; a pair growing
    with its entry is canceled and placed again."""
    BOTH = "both"
    """Raise or lower it (the paper venue): the pair follows every part of an entry that
    fills in parts, same ids."""


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """Everything the engine reads about a venue, declared by the venue itself.

    No field has a default, on purpose: a venue that forgets one does not type-check and
    cannot be built, instead of being taken for one that, say, rests its own stop-loss (the
    position monitor would then never exit at the stop)."""

    native_brackets: bool
    """The venue holds a position's stop-loss and take-profit itself (OCO or stop orders).
    False: nothing rests there, and the engine's position monitor exits when a price crosses
    either (a DEX, an exchange in ``monitor`` bracket mode)."""
    updates: Updates
    """How the engine hears of fills and cancels (see :class:`Updates`)."""
    keyed_accounts: bool
    """Each account trades with its own key, connected while the service runs
    (:class:`KeyedVenue`)."""
    reconciliation: bool
    """Reconciliation can question it in depth and hand orders over to it
    (:class:`ReconcilableVenue`)."""
    snapshots: bool
    """It carries state of its own in the engine's checkpoint (:class:`SnapshotVenue`)."""
    amend: Amend
    """How far it changes a resting stop-loss/take-profit pair's quantity in place
    (:class:`AmendingVenue`, see :class:`Amend`); a change it cannot make in place is made by
    canceling the pair and placing it again at the new size."""


@runtime_checkable
class Venue(Protocol):
    name: str
    capabilities: VenueCapabilities
    """What the venue can do, read by the engine once, when it is built."""

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


@runtime_checkable
class FollowingVenue(PolledVenue, Protocol):
    """A polled venue whose orders fill over seconds between candles (an exchange's market
    entry in many trades): the engine asks it about the orders under way on a pace of its own.
    The Solana venue is not one: its swaps are polled on every price tick already."""

    async def follow_working(self) -> bool:
        """News of the orders under way only (a market order not finished, one partly filled,
        a create not confirmed), so that each trade is booked and protected within seconds,
        not at the next candle; True when anything was asked."""


@runtime_checkable
class ReconcilableVenue(Venue, Protocol):
    """A venue that reconciliation can question in depth and hand orders over to."""

    keeps_trade_history: bool
    """``fetch_fills`` lists the exchange's own trade history (an exchange's ``myTrades``), so
    an empty list where an order of ours filled is a read that missed them. False where the
    fills come from the venue's own journal (Solana's swaps, the paper venue): it lists only
    what it has not reported yet, and an empty list says nothing."""

    async def fetch_recent_orders(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[VenueOrder]:
        """Orders of any status on one market, oldest first."""

    async def fetch_fills(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[Fill]:
        """The account's executions on one market, with their client order ids, real prices
        and fees, oldest first."""

    def following(self, account_id: str) -> dict[str, bool]:
        """Client ids of the orders this venue reports on by itself, each mapped to whether
        the adapter holds it locally (never sent to the exchange, so absent from its books)."""

    def follow(self, order: Order, booked_fill_ids: Iterable[str] = ()) -> None:
        """Report on ``order`` from now on (sent before a restart, or found by
        reconciliation); fills with these ids are already booked and are not reported."""

    async def refresh(self, account_id: str | None = None) -> None:
        """Report now what changed on the orders this venue follows (whatever its usual
        polling pace): one account's, or every account's."""


@runtime_checkable
class AmendingVenue(Venue, Protocol):
    """A venue that re-sizes a resting OCO pair in place (``amend`` is not ``Amend.NONE``)."""

    async def amend_oco(
        self,
        account_id: str,
        stop_id: str,
        take_id: str,
        remaining: Decimal,
        *,
        stop_price: Decimal | None = None,
        take_price: Decimal | None = None,
    ) -> None:
        """Leave ``remaining`` coins to sell on both legs of a resting pair (each leg's
        quantity becomes what it has filled plus ``remaining``), same ids; same prices unless
        ``stop_price``/``take_price`` name new ones (an agent moving its stop).
        Raises a VenueError, changing nothing, when the venue refuses (a leg no longer open,
        coins it does not hold free, a quantity off the lot, a growth on ``Amend.DOWN``, a
        price it cannot change in place): the engine then cancels and places the pair again,
        the position monitor holding the stop meanwhile."""


@runtime_checkable
class RulesVenue(Venue, Protocol):
    """A venue that reads a market's rules again (the exchange changed a filter: a minimum
    order value, a lot, a tick), so that a refused pair is re-sized to them at once."""

    async def reload_rules(self, symbol: str) -> Instrument:
        """Read ``symbol``'s rules from the exchange again; its instrument from now on."""


@runtime_checkable
class SnapshotVenue(Venue, Protocol):
    """A venue whose own state goes into the engine's checkpoint (``snapshots``)."""

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state to resume from after a restart."""

    def load_snapshot(self, data: dict[str, Any]) -> None:
        """Resume from what :meth:`snapshot` returned."""


@runtime_checkable
class KeyedVenue(Venue, Protocol):
    """A venue where each account trades with its own API key (an exchange): an investor's
    key is connected while the service runs, and disconnected when they leave."""

    async def connect_account(self, account_id: str, api_key: str, secret: str) -> None:
        """Route ``account_id``'s orders through a client holding this key (raises a
        ConfigError when the account already has one)."""

    async def disconnect_account(self, account_id: str) -> None:
        """Forget the account's key and close its client."""

    def followed_orders(self, account_id: str) -> int:
        """How many of the account's orders this venue still follows (open, or with an
        unconfirmed create or cancel): its key must stay until they are settled."""


class CandleFeed(Protocol):
    """A stream of closed candles for one or more symbols, in time order."""

    def candles(self) -> AsyncIterator[Candle]: ...


def declared_capabilities(venue: Venue) -> VenueCapabilities:
    """The venue's declared capabilities; a venue that declares none is refused (never taken
    to have some by default)."""
    try:
        capabilities = venue.capabilities
    except AttributeError:
        capabilities = None
    if not isinstance(capabilities, VenueCapabilities):
        raise ConfigError(
            f"The {venue.name} venue does not declare its capabilities (VenueCapabilities in "
            "rampart.trading.ports: brackets, updates, keys, reconciliation, snapshots), so "
            "the engine cannot tell whether it holds its own stop-losses; it will not trade "
            "on it."
        )
    return capabilities
