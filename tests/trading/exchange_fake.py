"""An exchange in memory for reconciliation tests, and a venue adapter over it.

:class:`Exchange` is the exchange's own state: every order with its status and fills, the
account's trade history (real prices and fees, in the quote currency) and balances that
follow from them. Nothing executes by itself except an exit (a market sell, filled at once at
:attr:`Exchange.price`); the test fills, cancels, trades and deposits by hand.

:class:`FakeVenue` is Rampart's adapter to it, as the ccxt venue is to an exchange: it follows
the orders it sent (or was told to follow), reports on them while ``listening``, and, when
``refresh`` is called, reports whatever it missed while not listening. A restart is a new
adapter (following nothing) over the same exchange, with an engine loaded from a checkpoint.
Everything is in process and on the test's clock: no threads, no sleeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import (
    Amend,
    Updates,
    VenueCapabilities,
    VenueListener,
    VenueOrder,
    VenueReport,
)

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent

CAPITAL = Decimal(10_000)


class Exchange:
    """One exchange's books for any number of accounts (one market, BTC/USDT)."""

    def __init__(self, price: Decimal = Decimal(100), instrument: Instrument = INSTRUMENT) -> None:
        self.instrument = instrument
        self.price = price
        self.now = 0
        self.orders: dict[str, Order] = {}
        """Every order ever placed, by client id: the exchange's own copies."""
        self.created_seq: dict[str, int] = {}
        self.trades: list[Fill] = []
        self.cash: dict[str, Decimal] = {}
        self.coins: dict[str, Decimal] = {}
        self.adapter: FakeVenue | None = None
        self._seq = 0

    # -- what the adapter asks ----------------------------------------------------------------

    def place(self, order: Order) -> Order:
        mine = order.snapshot()
        mine.status = OrderStatus.SUBMITTED
        mine.created_at = mine.created_at or self.now
        self._seq += 1
        mine.venue_order_id = f"v{self._seq}"
        self.orders[mine.client_id] = mine
        self.created_seq[mine.client_id] = self._seq
        return mine

    def view(self, client_id: str, with_ts: bool = True, bare: bool = False) -> VenueOrder:
        """``bare``: the listing says neither the side nor the type (some venues' don't)."""
        o = self.orders[client_id]
        paid = sum((f.qty * f.price for f in self.trades if f.client_id == client_id), Decimal(0))
        return VenueOrder(
            client_id,
            o.symbol,
            o.status,
            o.qty,
            o.filled_qty,
            paid / o.filled_qty if o.filled_qty else Decimal(0),
            venue_order_id=o.venue_order_id,
            side=None if bare else o.side,
            type=None if bare else o.type,
            price=o.price,
            stop_price=o.stop_price,
            ts=o.created_at if with_ts else 0,
        )

    def balances(self, account_id: str) -> dict[str, Balance]:
        """What the account holds; like most exchanges, an asset it holds none of is left
        out."""
        held = {
            self.instrument.base: self.coins.get(account_id, Decimal(0)),
            self.instrument.quote: self.cash.get(account_id, Decimal(0)),
        }
        return {asset: Balance(asset, qty) for asset, qty in held.items() if qty}

    # -- the test's hand ----------------------------------------------------------------------

    def fill(
        self, client_id: str, qty: Decimal, price: Decimal | None = None, fee: Decimal = Decimal(0)
    ) -> Fill:
        """Part or all of an open order executes."""
        order = self.orders[client_id]
        assert order.status.open and qty <= order.remaining, (order.status, qty)
        fill = self._trade(
            order.account_id, client_id, order.side, qty, price or self.price, fee, order.symbol
        )
        order.filled_qty += qty
        order.status = OrderStatus.FILLED if order.remaining == 0 else OrderStatus.PARTIALLY_FILLED
        self._changed(client_id, fill)
        if order.status is OrderStatus.FILLED and order.oco_group:
            for other in self.orders.values():
                if other is not order and other.oco_group == order.oco_group and other.is_open:
                    other.status = OrderStatus.CANCELED
                    self._changed(other.client_id, None)
        return fill

    def end(self, client_id: str, status: OrderStatus = OrderStatus.CANCELED) -> None:
        """An open order ends without (more) fills: canceled by hand, or expired."""
        order = self.orders[client_id]
        assert order.status.open
        order.status = status
        self._changed(client_id, None)

    def trade_by_hand(
        self,
        account_id: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal = Decimal(0),
        client_id: str = "",
        fill_id: str | None = None,
        fee_in_coins: Decimal = Decimal(0),
        fee_asset: str = "",
        cost: Decimal | None = None,
    ) -> Fill:
        """A market trade made outside Rampart (the investor's own app). A buy's fee may be
        taken from the coins it got (``fee_in_coins``), as Binance does, or a fee paid in
        another asset (``fee_asset``, ``fee`` of it); ``cost``: the quote it moved, net of
        the fee, when the price does not say it exactly (a swap)."""
        fill = self._trade(account_id, client_id, side, qty, price, fee, SYMBOL, fill_id)
        if fee_in_coins:
            fill = replace(fill, fee_asset=self.instrument.base, fee_qty=fee_in_coins)
            self.coins[account_id] -= fee_in_coins
        if fee_asset:
            fill = replace(fill, fee_asset=fee_asset, fee_qty=fee)
            self.cash[account_id] += fee  # paid in that asset, not in cash
        if cost is not None:
            fill = replace(fill, cost=cost)
            sign = 1 if side is Side.BUY else -1
            self.cash[account_id] += sign * (qty * price - cost)
        self.trades[-1] = fill
        return fill

    def place_by_hand(
        self, account_id: str, client_id: str, side: Side, qty: Decimal, price: Decimal
    ) -> Order:
        """A limit order placed outside Rampart; it rests."""
        order = Order(
            client_id, account_id, SYMBOL, side, OrderType.LIMIT, qty, OrderRole.EXIT, price
        )
        return self.place(order)

    def deposit(self, account_id: str, amount: Decimal) -> None:
        self.cash[account_id] = self.cash.get(account_id, Decimal(0)) + amount

    def open_orders(self, account_id: str) -> list[Order]:
        return [o for o in self.orders.values() if o.account_id == account_id and o.is_open]

    # -- inside -------------------------------------------------------------------------------

    def _trade(
        self,
        account_id: str,
        client_id: str,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        symbol: str,
        fill_id: str | None = None,
    ) -> Fill:
        fill = Fill(
            fill_id or f"{len(self.trades) + 1}",
            client_id,
            account_id,
            symbol,
            side,
            qty,
            price,
            fee,
            Liquidity.TAKER,
            self.now,
        )
        self.trades.append(fill)
        sign = 1 if side is Side.BUY else -1
        self.coins[account_id] = self.coins.get(account_id, Decimal(0)) + sign * qty
        self.cash[account_id] = self.cash.get(account_id, Decimal(0)) - sign * qty * price - fee
        return fill

    def _changed(self, client_id: str, fill: Fill | None) -> None:
        if self.adapter is not None:
            self.adapter.changed(client_id, fill)


class FakeVenue:
    """Rampart's adapter to an :class:`Exchange`."""

    name = "fake"
    capabilities = VenueCapabilities(
        native_brackets=True,
        updates=Updates.PUSHED,
        keyed_accounts=False,
        reconciliation=True,
        snapshots=False,
        amend=Amend.NONE,
    )

    def __init__(self, exchange: Exchange) -> None:
        self.x = exchange
        exchange.adapter = self
        self.listening = True
        self.followed: dict[str, set[str]] = {}
        """Client id -> the ids of its fills already reported."""
        self.owner: dict[str, str] = {}
        """Client id -> its account, for every order followed."""
        self.booked: dict[str, Decimal] = {}
        """Client id -> how much of it the books hold: as an exchange adapter does, only
        what the exchange says is filled beyond it is news."""
        self.sent_fills: Counter[str] = Counter()
        """How many times this adapter reported each fill: once, or the venue was not told
        (``follow``) which fills the books already hold."""
        self.held_locally: set[str] = set()
        """Followed orders this adapter holds itself (never on the exchange)."""
        self.keeps_trade_history = True
        """Its history is the exchange's own trades, as a ccxt venue's is."""
        self.page: int | None = None
        """At most this many trades per history read: the oldest from the start time asked
        for, or the newest when none is."""
        self.said: dict[str, OrderStatus] = {}
        """Client id -> the last status reported."""
        self.fail_fills = False
        self.fail_orders = False
        self.fail_refresh = False
        self.fail_cancel = False
        self.fail_open = False
        self.no_ts = False
        self.bare = False
        """The order lists say nothing of when an order was made (ts 0)."""
        self.deaf: set[str] = set()
        """Client ids the adapter follows but never reports on (a stuck follow-up)."""
        self.on_refresh: Callable[[], None] = lambda: None
        """Runs at each refresh, before it reports (the exchange moves meanwhile)."""
        self.on_balances: Callable[[int], None] = lambda n: None
        """Runs before each balance read, with the number of reads so far."""
        self.balance_reads = 0
        self.next_submit = ""
        """What befalls the next order sent: "" (it arrives and is acknowledged), "dropped"
        (it never arrives and nothing is said), "lost" (it never arrives and the request times
        out), "late" (it arrives but the request times out), "misrefused" (it arrives but the
        answer is an error)."""
        self._listener: VenueListener = lambda report: None

    # -- the port -----------------------------------------------------------------------------

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        if symbol != self.x.instrument.symbol:
            raise VenueError(f"no market {symbol}")
        return self.x.instrument

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        if account_id not in self.x.cash:
            self.x.cash[account_id] = balances.get(self.x.instrument.quote, Decimal(0))

    async def submit(self, order: Order) -> None:
        fate, self.next_submit = self.next_submit, ""
        if fate in ("dropped", "lost"):
            if fate == "lost":
                raise OutcomeUnknown("timed out")
            return
        mine = self.x.place(order)
        self.followed[order.client_id] = set()
        self.owner[order.client_id] = order.account_id
        self.booked[order.client_id] = Decimal(0)
        if fate == "late":
            raise OutcomeUnknown("timed out")
        if fate == "misrefused":
            raise VenueError("internal error")
        self._report(mine.client_id)
        if order.role is OrderRole.EXIT:
            self.x.fill(order.client_id, order.qty)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        await self.submit(stop_loss)
        await self.submit(take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        if self.fail_cancel:
            raise VenueError("the exchange is busy")
        order = self.x.orders.get(client_id)
        if order is None or not order.is_open:
            return
        self.x.end(client_id)

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        if client_id not in self.x.orders or self.x.orders[client_id].account_id != account_id:
            return None
        return self.x.view(client_id)

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        if self.fail_open:
            raise VenueError("the open orders are unavailable")
        return [
            self.x.view(o.client_id, not self.no_ts, self.bare)
            for o in self.x.open_orders(account_id)
        ]

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        self.on_balances(self.balance_reads)
        self.balance_reads += 1
        return self.x.balances(account_id)

    async def fetch_recent_orders(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[VenueOrder]:
        if self.fail_orders:
            raise VenueError("the order list is unavailable")
        mine = sorted(
            (
                o
                for o in self.x.orders.values()
                if o.account_id == account_id
                and o.symbol == symbol
                and o.created_at >= (since_ms or 0)
            ),
            key=lambda o: self.x.created_seq[o.client_id],
        )
        if limit:
            mine = mine[-limit:]
        return [self.x.view(o.client_id, not self.no_ts, self.bare) for o in mine]

    async def fetch_fills(
        self, account_id: str, symbol: str, since_ms: int | None = None, limit: int | None = None
    ) -> list[Fill]:
        if self.fail_fills:
            raise VenueError("the trade history is unavailable")
        listed = [
            f
            for f in self.x.trades
            if f.account_id == account_id and f.symbol == symbol and f.ts >= (since_ms or 0)
        ]
        if self.page is not None:
            listed = listed[: self.page] if since_ms is not None else listed[-self.page :]
        return listed

    def following(self, account_id: str) -> dict[str, bool]:
        return {c: c in self.held_locally for c in self.followed if self.owner.get(c) == account_id}

    def follow(self, order: Order, booked_fill_ids: Iterable[str] = ()) -> None:
        self.followed[order.client_id] = set(booked_fill_ids)
        self.owner[order.client_id] = order.account_id
        self.booked[order.client_id] = order.filled_qty
        self.said[order.client_id] = order.status

    async def refresh(self, account_id: str | None = None) -> None:
        if self.fail_refresh:
            raise VenueError("the exchange does not answer")
        self.on_refresh()
        for cid in list(self.followed):
            order = self.x.orders.get(cid)
            if order is None or (account_id is not None and order.account_id != account_id):
                continue
            self._catch_up(cid)

    # -- inside -------------------------------------------------------------------------------

    def changed(self, client_id: str, fill: Fill | None) -> None:
        if self.listening and client_id in self.followed:
            self._catch_up(client_id)

    def _catch_up(self, cid: str) -> None:
        if cid in self.deaf:
            return
        order = self.x.orders[cid]
        reported = self.followed[cid]
        done = self.booked.get(cid, Decimal(0))
        for fill in [f for f in self.x.trades if f.client_id == cid]:
            if fill.fill_id in reported or order.filled_qty <= done:
                continue
            reported.add(fill.fill_id)
            done += fill.qty
            self.booked[cid] = done
            status = OrderStatus.FILLED if done == order.qty else OrderStatus.PARTIALLY_FILLED
            self.said[cid] = status
            self.sent_fills[fill.fill_id] += 1
            self._listener(
                VenueReport(order.account_id, cid, status, fill.ts, fill, order.venue_order_id)
            )
        ended = order.status.terminal and order.status is not OrderStatus.FILLED
        if ended and order.status is not self.said.get(cid):
            self._report(cid)
        if order.status.terminal:
            self.followed.pop(cid, None)

    def _report(self, cid: str) -> None:
        order = self.x.orders[cid]
        self.said[cid] = order.status
        self._listener(
            VenueReport(order.account_id, cid, order.status, self.x.now, None, order.venue_order_id)
        )


def make_engine(
    venue: FakeVenue,
    agent: ScriptedAgent | None = None,
    clock: SimClock | None = None,
    bus: EventBus | None = None,
) -> Engine:
    """An engine on ``venue`` with the scripted agent (or none) and no taker fee estimate."""
    return Engine(
        venue=venue,
        clock=clock or SimClock(venue.x.now),
        bus=bus or EventBus(),
        make_agent=lambda name, params: agent or ScriptedAgent(lambda i, view: []),
        profile_for=get_profile,
        taker_fee=Decimal(0),
    )


async def add_account(engine: Engine, account_id: str = "a1") -> None:
    await engine.add_account(AccountSpec(account_id, "scripted", "moderate", CAPITAL, (SYMBOL,)))
