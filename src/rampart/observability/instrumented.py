"""A venue wrapper that times every exchange call and counts failures by kind.

The wrapper declares the wrapped venue's capabilities as its own (the engine reads nothing
else), and :func:`instrument_venue` builds a wrapper class that has ``on_candle``/``poll``
exactly when those capabilities say the engine calls them. Anything else (``snapshot``,
``last_price`` …) passes through untouched.

Latency is measured on the monotonic wall clock on purpose: it is a property of the network
and the exchange, not of business time.

Every failure counted here is also logged once (``exchange_error``) with the order the call
concerned: its account, client id and symbol. The wrapper names them for the whole call, so a
venue that counts each HTTP attempt itself (the ccxt venue's hook) logs them as well.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from rampart.domain.candles import Candle
from rampart.domain.errors import VenueError
from rampart.domain.fills import Balance
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order
from rampart.observability.exchange_calls import CallContext, exchange_call
from rampart.observability.metrics import Metrics
from rampart.trading.ports import Updates, Venue, VenueListener, VenueOrder

T = TypeVar("T")

# Exception class names (ccxt's and the standard library's) to a small, fixed set of kinds,
# most specific first, so the error counter never grows a label per message.
_KINDS = (
    ("OutcomeUnknown", "unknown_outcome"),
    ("RateLimitExceeded", "rate_limit"),
    ("DDoSProtection", "rate_limit"),
    ("RequestTimeout", "timeout"),
    ("TimeoutError", "timeout"),
    ("AuthenticationError", "auth"),
    ("PermissionDenied", "auth"),
    ("InsufficientFunds", "insufficient_funds"),
    ("InvalidOrder", "invalid_order"),
    ("OrderNotFound", "order_not_found"),
    ("ExchangeNotAvailable", "unavailable"),
    ("OnMaintenance", "unavailable"),
    ("NetworkError", "network"),
    ("ConnectionError", "network"),
    ("OSError", "network"),
    ("BadResponse", "bad_response"),
    ("ExchangeError", "exchange"),
)
_CODE = re.compile(r"[^a-z0-9_]+")
SYMBOLS_KEPT = 10_000
"""Client ids whose symbol the wrapper remembers, so a failed cancel (which names only the
account and the client id) is logged with its symbol too; the oldest are forgotten first."""


def error_kind(exc: BaseException) -> str:
    """A short, bounded label for what went wrong."""
    names = [cls.__name__ for cls in type(exc).__mro__]
    for name, kind in _KINDS:
        if name in names:
            return kind
    if isinstance(exc, VenueError):
        code = _CODE.sub("_", exc.code.lower()).strip("_")[:32]
        return code or "venue_error"
    return "other"


class InstrumentedVenue:
    """Times and counts the calls of a plain :class:`Venue`.

    With ``count_calls=False`` only order latency is recorded: for a venue that already
    reports each HTTP attempt through ``Metrics.exchange_hook`` (retries included).
    """

    def __init__(
        self, venue: Venue, metrics: Metrics, label: str | None = None, count_calls: bool = True
    ) -> None:
        self.wrapped = venue
        self.name = venue.name
        self.capabilities = venue.capabilities
        self.label = label or venue.name
        self.count_calls = count_calls
        self._metrics = metrics
        self._symbols: OrderedDict[str, str] = OrderedDict()
        metrics.prepare_venue(self.label)

    def __getattr__(self, item: str) -> Any:
        # Only called for attributes the wrapper lacks: snapshot, last_price…
        if item == "wrapped":
            raise AttributeError(item)
        return getattr(self.wrapped, item)

    async def _call(
        self,
        call: Callable[[], Awaitable[T]],
        order: bool = False,
        context: CallContext | None = None,
    ) -> T:
        started = time.perf_counter()
        try:
            with exchange_call(context or {}):
                return await call()
        except Exception as exc:
            if self.count_calls:
                with exchange_call(context or {}):
                    self._metrics.exchange_error(self.label, error_kind(exc), detail=str(exc))
            raise
        finally:
            elapsed = time.perf_counter() - started
            if self.count_calls:
                self._metrics.exchange_call(self.label, elapsed)
            if order:
                self._metrics.order_latency(self.label, elapsed)

    def _about(
        self, call: str, account_id: str | None = None, order: Order | None = None
    ) -> CallContext:
        if order is None:
            return {"call": call, "account_id": account_id}
        self._remember(order)
        return {
            "call": call,
            "account_id": order.account_id,
            "order": order.client_id,
            "symbol": order.symbol,
        }

    def _remember(self, order: Order) -> None:
        self._symbols[order.client_id] = order.symbol
        while len(self._symbols) > SYMBOLS_KEPT:
            self._symbols.popitem(last=False)

    def _about_id(self, call: str, account_id: str, client_id: str) -> CallContext:
        symbol = self._symbols.get(client_id)
        return {"call": call, "account_id": account_id, "order": client_id, "symbol": symbol}

    def set_listener(self, listener: VenueListener) -> None:
        self.wrapped.set_listener(listener)

    def instrument(self, symbol: str) -> Instrument:
        return self.wrapped.instrument(symbol)

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        await self._call(
            lambda: self.wrapped.open_account(account_id, balances),
            context=self._about("open_account", account_id),
        )

    async def submit(self, order: Order) -> None:
        await self._call(
            lambda: self.wrapped.submit(order),
            order=True,
            context=self._about("submit", order=order),
        )

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self._remember(take_profit)  # a later cancel of either leg is logged with its symbol
        await self._call(
            lambda: self.wrapped.submit_oco(stop_loss, take_profit),
            order=True,
            context=self._about("submit_oco", order=stop_loss),
        )

    async def cancel(self, account_id: str, client_id: str) -> None:
        await self._call(
            lambda: self.wrapped.cancel(account_id, client_id),
            context=self._about_id("cancel", account_id, client_id),
        )

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        return await self._call(
            lambda: self.wrapped.fetch_order(account_id, client_id),
            context=self._about_id("fetch_order", account_id, client_id),
        )

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        return await self._call(
            lambda: self.wrapped.fetch_open_orders(account_id),
            context=self._about("fetch_open_orders", account_id),
        )

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        return await self._call(
            lambda: self.wrapped.fetch_balances(account_id),
            context=self._about("fetch_balances", account_id),
        )

    def __repr__(self) -> str:
        return f"Instrumented({self.wrapped!r})"


class _OnCandle:
    wrapped: Any

    def on_candle(self, candle: Candle) -> None:
        # Matching against a candle is local work, not an exchange call: not timed.
        self.wrapped.on_candle(candle)


class _Poll:
    wrapped: Any
    _call: Callable[..., Awaitable[Any]]

    async def poll(self) -> None:
        await self._call(lambda: self.wrapped.poll(), context={"call": "poll"})


class InstrumentedMarketVenue(_OnCandle, InstrumentedVenue):
    """For a venue that matches against the candle stream (the paper venue)."""


class InstrumentedPolledVenue(_Poll, InstrumentedVenue):
    """For a venue on a remote exchange that the engine polls."""


def instrument_venue(
    venue: Venue, metrics: Metrics, label: str | None = None, *, count_calls: bool = True
) -> Venue:
    """Wrap ``venue`` so its calls feed the exchange metrics; ``label`` names it in metrics."""
    if isinstance(venue, InstrumentedVenue):
        return venue
    updates = venue.capabilities.updates
    cls: type[InstrumentedVenue]
    if updates is Updates.CANDLES:
        cls = InstrumentedMarketVenue
    elif updates is Updates.POLLED:
        cls = InstrumentedPolledVenue
    else:
        cls = InstrumentedVenue
    return cls(venue, metrics, label, count_calls)  # type: ignore[return-value]
