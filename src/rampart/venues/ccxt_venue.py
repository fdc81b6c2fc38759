"""A real exchange through ``ccxt.async_support``: the PolledVenue port.

One ccxt client per account (each account trades with its own API key); a public client
loads the markets once and shares them. Orders carry Rampart's deterministic client order id,
so the exchange itself refuses a second order with the same id. What happens to orders after
they are sent is learned by :meth:`CcxtVenue.poll` (see :mod:`rampart.venues.ccxt_sync`),
and by websocket once the order streams run (:mod:`rampart.venues.ccxt_streaming`):
fills are reported once each, by trade id, with the exchange's price and fee. The venue owns
the clients and markets (:mod:`rampart.venues.ccxt_accounts`) and its order sync, and gives
the sync what it reads; nothing it owns refers back to it.

Brackets (stop-loss + take-profit) take the best form the exchange offers:

- ``oco``: the exchange's own OCO order list (Binance ``POST /api/v3/orderList/oco``);
- ``stop``: a native stop order; the take-profit is held here and sent as a market sell when
  the last price reaches it (the stop is canceled first, as an OCO would);
- ``monitor``: both legs are held here and ``capabilities.native_brackets`` is False, so the
  engine's position monitor closes the position when a price crosses either level.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.domain.errors import (
    ConfigError,
    DataError,
    OutcomeUnknown,
    RampartError,
    VenueError,
    present,
)
from rampart.domain.fills import Balance, Fill
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order
from rampart.trading.ports import (
    Updates,
    VenueCapabilities,
    VenueListener,
    VenueOrder,
    VenueReport,
)
from rampart.venues import ccxt_mapping as mapping
from rampart.venues import ccxt_reads
from rampart.venues.ccxt_accounts import (
    BracketMode,
    CcxtClients,
    CcxtMarkets,
    default_bracket_mode,
)
from rampart.venues.ccxt_amend import AmendsDown, amend_kind
from rampart.venues.ccxt_budget import order_flow, paid_as, protective
from rampart.venues.ccxt_errors import CcxtCaller, Kind, OnCall, Op
from rampart.venues.ccxt_following import OrderFollowing
from rampart.venues.ccxt_history import account_fills, recent_orders
from rampart.venues.ccxt_orders import OrderTracker, Tracked
from rampart.venues.ccxt_rules import Averages, refuse_early
from rampart.venues.ccxt_streaming import SAFETY_POLL_S, OrderStreams, StateHook
from rampart.venues.ccxt_sync import OrderSync
from rampart.venues.request_budget import RequestBudget
from rampart.venues.retry import RetryPolicy
from rampart.venues.validation import warn_if_short

log = structlog.get_logger("rampart.venues.ccxt")

DEFAULT_STOP_LIMIT_BUFFER = Decimal("0.005")


class CcxtVenue(OrderFollowing, AmendsDown):
    keeps_trade_history = True
    """``fetch_fills`` lists the exchange's own trade history (``myTrades``): an empty list
    where an order of ours filled is a read that missed them (reconciliation says so)."""

    def __init__(
        self,
        clients: Mapping[str, Any],
        *,
        clock: Clock,
        exchange_id: str = "binance",
        public: Any | None = None,
        instruments: Mapping[str, Instrument] | None = None,
        policy: RetryPolicy | None = None,
        bracket_mode: BracketMode | None = None,
        unknown_grace_s: float = 30.0,
        stop_limit_buffer: Decimal = DEFAULT_STOP_LIMIT_BUFFER,
        on_call: OnCall | None = None,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.monotonic,
        min_poll_interval_s: float = 0.0,
        client_for_key: Callable[[str, str], Any] | None = None,
        budget: RequestBudget | None = None,
        stream_twin: Callable[[Any], Any] | None = None,
        stream_poll_s: float = SAFETY_POLL_S,
        follow_every_s: float = 0.0,
    ) -> None:
        """``clients`` maps account id → ccxt client holding that account's key. ``public``
        (default: any account client) loads markets.

        An order whose create was not confirmed and that the exchange cannot find by its
        client order id never reached it once both ``unknown_grace_s`` have passed on the
        Clock and the exchange's receive window plus a request timeout have passed in real
        time (``wall``, monotonic seconds): the exchange refuses a request that arrives later
        than its receive window, so it never will appear.

        ``min_poll_interval_s`` > 0 skips a poll that comes sooner than that on the Clock
        after the last one (the engine polls before every candle, several per instant when
        it trades several symbols).

        ``client_for_key(api_key, secret)`` builds a client for an investor's own key, as the
        configured accounts' clients are built (:meth:`connect_account`). ``budget``: the
        exchange's request budget at this address, shared by every client (ccxt_budget).
        ``stream_twin(client)``: the ccxt.pro client streaming the orders of ``client``'s account
        (ccxt_streaming), polled every ``stream_poll_s`` while its stream is open.
        ``follow_every_s``: the follow turns' pace; a turn leaves out an account a candle's poll
        asked less than that ago (ccxt_following)."""
        self.name = exchange_id
        self._client_for_key = client_for_key
        self.exchange_id = exchange_id
        self.accounts = CcxtClients(exchange_id, clients, public)
        self.markets = CcxtMarkets(exchange_id, instruments)
        self.clock = clock
        self.bracket_mode: BracketMode = bracket_mode or default_bracket_mode(
            exchange_id, self.public
        )
        self.capabilities = VenueCapabilities(
            native_brackets=self.bracket_mode != "monitor",
            updates=Updates.POLLED,
            keyed_accounts=True,
            reconciliation=True,
            snapshots=True,
            amend=amend_kind(exchange_id, self.bracket_mode),  # lowered in place (ccxt_amend)
        )
        self.unknown_grace_ms = int(unknown_grace_s * 1000)
        self.wall = wall
        self.follow_every_s = follow_every_s
        self.candle_polled = {}
        self.stop_limit_buffer = stop_limit_buffer
        self.caller = CcxtCaller(
            exchange_id, clock, policy or RetryPolicy(), rng=rng, on_call=on_call, budget=budget
        )
        self.tracker = OrderTracker()
        self.averages = Averages(clock)
        self.sync = OrderSync(
            exchange_id=exchange_id,
            clients=self.accounts,
            markets=self.markets,
            caller=self.caller,
            tracker=self.tracker,
            clock=clock,
            wall=wall,
            unknown_grace_ms=self.unknown_grace_ms,
        )
        self.streams = OrderStreams(
            self.sync,
            clock,
            min_interval_ms=int(min_poll_interval_s * 1000),
            safety_poll_s=stream_poll_s,
            twin=stream_twin,
        )

    # Read by the wiring, the soak harness and tests; held by the collaborators above.

    @property
    def clients(self) -> dict[str, Any]:
        return self.accounts.by_account

    @property
    def public(self) -> Any:
        return self.accounts.public

    @property
    def instruments(self) -> dict[str, Instrument]:
        return self.markets.instruments

    @property
    def order_types(self) -> dict[str, set[str] | None]:
        return self.markets.order_types

    # -- setup --------------------------------------------------------------------------------

    async def load(self, symbols: Iterable[str] | None = None) -> dict[str, Instrument]:
        """Load the exchange's markets (once, shared by every client) into Instruments."""
        client = self.public
        markets = await ccxt_reads.load_markets(self.caller, client)
        self.accounts.share_markets()
        wanted = list(symbols) if symbols is not None else list(self.instruments)
        missing = [s for s in wanted if s not in markets]
        if missing:
            raise DataError(f"{self.name} does not list {', '.join(missing)}.")
        for symbol in wanted:
            market = markets[symbol]
            self.instruments[symbol] = mapping.instrument_from_market(market, client.precisionMode)
            self.order_types[symbol] = mapping.order_types_of(market)
        self.markets.loaded = True
        return {s: self.instruments[s] for s in wanted}

    async def reload_rules(self, symbol: str) -> Instrument:
        """Read the exchange's markets again (a filter changed): ``symbol``'s instrument and
        order types from now on, shared by every client."""
        markets = await ccxt_reads.load_markets(self.caller, self.public, reload=True)
        self.accounts.share_markets()
        market = markets.get(symbol)
        if market is None:
            raise VenueError(f"{self.name} no longer lists {symbol}.", code="bad_symbol")
        inst = mapping.instrument_from_market(market, self.public.precisionMode)
        self.instruments[symbol] = inst
        self.order_types[symbol] = mapping.order_types_of(market)
        return inst

    async def ready(self) -> None:
        if not self.markets.loaded:
            await self.load()

    def client(self, account_id: str) -> Any:
        return self.accounts.client(account_id)

    def add_client(self, account_id: str, client: Any) -> None:
        """Route ``account_id``'s orders through ``client`` (an investor's own key, added while
        the service runs). It shares the markets already loaded, so it needs no load of its own.
        """
        self.accounts.add(account_id, client, markets_loaded=self.markets.loaded)
        self.streams.add(account_id, client)  # when the streams run

    async def remove_client(self, account_id: str) -> None:
        """Forget ``account_id``'s client and close it (its key is no longer used)."""
        await self.streams.remove(account_id)
        await self.accounts.remove(account_id)

    async def connect_account(self, account_id: str, api_key: str, secret: str) -> None:
        """The :class:`~rampart.trading.ports.KeyedVenue` operation: a client for this key."""
        if self._client_for_key is None:
            raise ConfigError(f"{self.name} was set up without investor keys; ask the operator.")
        self.add_client(account_id, self._client_for_key(api_key, secret))

    async def disconnect_account(self, account_id: str) -> None:
        await self.remove_client(account_id)

    def followed_orders(self, account_id: str) -> int:
        return len(self.tracked(account_id))

    def wall_grace_s(self, account_id: str) -> float:
        """Real seconds after which a request sent now can no longer be accepted."""
        return self.accounts.wall_grace_s(account_id)

    async def start_order_stream(
        self, *, on_state: StateHook | None = None, allowed: Callable[[], bool] | None = None
    ) -> bool:
        """Open the accounts' order streams (False: the venue has none, or they run)."""
        await self.ready()  # the markets, shared with the streams' clients
        return self.streams.start(self.clients, self.public, on_state=on_state, allowed=allowed)

    async def stop_order_stream(self) -> None:
        await self.streams.stop()

    async def aclose(self) -> None:
        await self.streams.stop()
        await self.accounts.aclose()

    # -- port ---------------------------------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        # Reports are made by the sync, so the listener is held there.
        self.sync.listener = listener

    def emit(self, report: VenueReport) -> None:
        self.sync.emit(report)

    def instrument(self, symbol: str) -> Instrument:
        return self.markets.instrument(symbol)

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        """Check the account's key works and holds what the engine will trade with."""
        self.client(account_id)
        await self.ready()
        warn_if_short(self.name, account_id, await self.fetch_balances(account_id), balances)

    @paid_as(order_flow)
    async def submit(self, order: Order) -> None:
        await self.ready()
        client = self.client(order.account_id)
        inst = self.instrument(order.symbol)
        kind, price, params = mapping.order_request(
            order, inst, self.order_types.get(order.symbol), self.stop_limit_buffer
        )
        limit = None if price is None else mapping.num(price)
        await self._refuse_early(client, inst, [(order, limit)])
        tracked = self.tracker.add(order, self.clock.now_ms(), self.wall())

        async def create() -> Any:
            return await client.create_order(
                order.symbol, kind, order.side.value, float(order.qty), price, params
            )

        await self._send(tracked, [tracked], "create_order", client, create, mapping.check_order)

    async def _send(
        self,
        main: Tracked,
        legs: list[Tracked],
        endpoint: str,
        client: Any,
        fn: Any,
        check: Any,
    ) -> Any:
        """Send a create; on success absorb the answer, else record what is known."""
        try:
            result = await self.caller.call(client, endpoint, Op.CREATE, fn, check=check)
        except OutcomeUnknown:
            for leg in legs:
                leg.unknown = True
            raise
        except VenueError as exc:
            if exc.code != Kind.DUPLICATE.value:
                for leg in legs:
                    self.tracker.drop(leg.client_id)
                raise
            # An earlier try got through: the exchange holds the order; learn its state.
            for leg in legs:
                leg.unknown = True
            try:
                for leg in legs:
                    await self.sync.refresh(leg)
            except RampartError:
                raise OutcomeUnknown(
                    f"{self.name} already holds this order but could not be asked about it; "
                    "it is checked again by its client order id."
                ) from None
            return None
        if endpoint == "create_order":
            try:
                await self.sync.absorb(main, result)
            except RampartError as exc:
                # The order exists: what is still missing (its trades) comes with the next poll.
                log.warning(
                    "absorb_failed", exchange=self.name, order=main.client_id, error=exc.message
                )
        return result

    @paid_as(protective)
    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        await self.ready()
        self.client(stop_loss.account_id)
        now = self.clock.now_ms()
        if self.bracket_mode == "monitor":
            for order in (stop_loss, take_profit):
                self.sync.hold_locally(order, now)
            self._pair(stop_loss.client_id, take_profit.client_id)
            return
        if self.bracket_mode == "stop":
            # The take-profit is announced only once its stop is on the exchange.
            take = self.sync.hold_locally(
                take_profit, now, trigger=take_profit.price, announce=False
            )
            try:
                await self.submit(stop_loss)
            except OutcomeUnknown:
                take.unknown = True  # the executor marks both legs UNKNOWN; poll settles it
                raise
            except VenueError:
                self.tracker.drop(take.client_id)
                raise
            finally:
                self._pair(stop_loss.client_id, take_profit.client_id)
            self.sync.announce(take)
            return
        await self._submit_native_oco(stop_loss, take_profit, now)

    def _pair(self, a: str, b: str) -> None:
        first, second = self.tracker.get(a), self.tracker.get(b)
        if first is not None:
            first.partner = b
        if second is not None:
            second.partner = a

    async def _submit_native_oco(self, stop: Order, take: Order, now: int) -> None:
        client = self.client(stop.account_id)
        inst = self.instrument(stop.symbol)
        stop_price = present(stop.stop_price, "the stop-loss trigger")
        take_price = present(take.price, "the take-profit price")
        symbol = stop.symbol
        types = self.order_types.get(symbol)
        market_stop = types is None or "STOP_LOSS" in types
        stop_limit = (
            None if market_stop else mapping.stop_limit_price(stop, inst, self.stop_limit_buffer)
        )
        await self._refuse_early(client, inst, [(stop, stop_limit), (take, take_price)])
        wall = self.wall()
        legs = [self.tracker.add(stop, now, wall), self.tracker.add(take, now, wall)]
        self._pair(stop.client_id, take.client_id)
        request = mapping.oco_request(client, stop, take, stop_price, take_price, stop_limit)

        async def create() -> Any:
            return await client.privatePostOrderListOco(request)

        result = await self._send(
            legs[0], legs, "create_oco", client, create, mapping.check_order_list
        )
        if result is not None:
            self.sync.absorb_order_list(legs, result)

    async def _refuse_early(
        self, client: Any, inst: Instrument, legs: list[tuple[Order, Decimal | None]]
    ) -> None:
        await refuse_early(
            name=self.name, caller=self.caller, tracker=self.tracker, client=client, inst=inst,
            legs=legs, averages=self.averages,
        )  # fmt: skip

    async def cancel(self, account_id: str, client_id: str) -> None:
        tracked = self.tracker.get(client_id)
        if tracked is None or tracked.account_id != account_id:
            raise VenueError(
                f"{self.name} has no open order {client_id} sent by Rampart.", code="not_found"
            )
        await self.ready()
        await self.sync.cancel(tracked)

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        """The exchange's view of one order by client id (None when it has no such order)."""
        await self.ready()
        tracked = self.tracker.get(client_id)
        symbols = [tracked.symbol] if tracked is not None else list(self.instruments)
        for symbol in symbols:
            found = await self.sync.lookup(account_id, symbol, client_id)
            if found is not None:
                return mapping.venue_order(found, client_id)
        return None

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        """Open orders of the account on every loaded market."""
        await self.ready()
        client = self.client(account_id)
        result: list[VenueOrder] = []
        for symbol in self.instruments:
            orders = await self.sync.open_orders(client, symbol)
            result.extend(mapping.venue_order(o) for o in orders)
        return result

    async def fetch_recent_orders(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[VenueOrder]:
        """Orders of any status on one market, oldest first (reconciliation)."""
        await self.ready()
        return await recent_orders(self.sync, account_id, symbol, since_ms, limit)

    async def fetch_fills(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[Fill]:
        """The account's own trades on one market as Fills with their client order ids,
        real prices and fees (reconciliation books the ones it has not seen)."""
        await self.ready()
        return await account_fills(self.sync, account_id, symbol, since_ms, limit)

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        client = self.client(account_id)
        balance = await ccxt_reads.fetch_balance(self.caller, client)
        return mapping.balances_from(balance)

    def snapshot(self) -> dict[str, Any]:
        return {"kind": "ccxt", "exchange": self.name, "tracked": self.tracker.snapshot()}

    def load_snapshot(self, data: dict[str, Any]) -> None:
        if data.get("kind") == "ccxt":
            self.tracker.load(list(data.get("tracked", [])), self.wall())
