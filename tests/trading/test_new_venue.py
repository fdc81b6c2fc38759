"""A venue written from the port alone: the engine reads what it declares, nothing else.

:class:`MinimalDex` implements only :class:`rampart.trading.ports.Venue` (no polling, no
reconciliation reads, no snapshot, no keys), as a second DEX would start out: market orders
fill at once, a stop-loss/take-profit pair is accepted and held (a DEX rests nothing). It
declares ``native_brackets=False``, so the position monitor must exit at the stop. A venue
that declares no capabilities is refused: nothing is assumed for it (the guard used
to take a venue without the attribute for one that rests its own stop).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import ConfigError
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import (
    Amend,
    Updates,
    Venue,
    VenueCapabilities,
    VenueListener,
    VenueOrder,
    VenueReport,
)

from .helpers import INSTRUMENT, SYMBOL, ScriptedAgent, candle

ENTRY = Decimal("100")
STOP = Decimal("98")
TAKE = Decimal("106")


class MinimalDex:
    """Only the port's methods; news reaches the listener by itself (``PUSHED``)."""

    name = "minidex"
    capabilities = VenueCapabilities(
        native_brackets=False,
        updates=Updates.PUSHED,
        keyed_accounts=False,
        reconciliation=False,
        snapshots=False,
        amend=Amend.NONE,
    )

    def __init__(self, instrument: Instrument, clock: SimClock) -> None:
        self._instrument = instrument
        self._clock = clock
        self._listener: VenueListener = lambda report: None
        self.price = ENTRY
        self.sent: list[Order] = []
        self.held: dict[str, Order] = {}
        """Stop-loss and take-profit legs: accepted, never sent anywhere."""

    def set_listener(self, listener: VenueListener) -> None:
        self._listener = listener

    def instrument(self, symbol: str) -> Instrument:
        return self._instrument

    async def open_account(self, account_id: str, balances: dict[str, Decimal]) -> None:
        pass

    async def submit(self, order: Order) -> None:
        self.sent.append(order.snapshot())
        now = self._clock.now_ms()
        if order.type is not OrderType.MARKET:
            self._report(order, OrderStatus.REJECTED, now)
            return
        fill = Fill(
            f"{order.client_id}-1",
            order.client_id,
            order.account_id,
            order.symbol,
            order.side,
            order.qty,
            self.price,
            Decimal(0),
            Liquidity.TAKER,
            now,
        )
        self._report(order, OrderStatus.FILLED, now, fill)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        now = self._clock.now_ms()
        for leg in (stop_loss, take_profit):
            self.held[leg.client_id] = leg
            self._report(leg, OrderStatus.SUBMITTED, now)

    async def cancel(self, account_id: str, client_id: str) -> None:
        leg = self.held.pop(client_id, None)
        if leg is not None:
            self._report(leg, OrderStatus.CANCELED, self._clock.now_ms())

    async def fetch_order(self, account_id: str, client_id: str) -> VenueOrder | None:
        return None

    async def fetch_open_orders(self, account_id: str) -> list[VenueOrder]:
        return []

    async def fetch_balances(self, account_id: str) -> dict[str, Balance]:
        return {}

    def _report(self, order: Order, status: OrderStatus, ts: int, fill: Fill | None = None) -> None:
        self._listener(VenueReport(order.account_id, order.client_id, status, ts, fill=fill))


class Undeclared(MinimalDex):
    """The same venue, written before capabilities were declared."""

    capabilities = None  # type: ignore[assignment]


def _engine(venue: Venue, clock: SimClock, script: ScriptedAgent) -> Engine:
    return Engine(
        venue=venue,
        clock=clock,
        bus=EventBus(),
        make_agent=lambda name, params: script,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=Decimal(0),
    )


def _long_once(i: int, view: object) -> list[Intent]:
    if i != 0:
        return []
    return [Intent("a1", SYMBOL, Side.BUY, IntentAction.OPEN, ENTRY, STOP, TAKE, agent="scripted")]


def test_a_venue_built_from_the_port_alone_is_exited_at_its_stop_by_the_monitor() -> None:
    async def scenario() -> tuple[Engine, MinimalDex]:
        clock = SimClock(0)
        venue = MinimalDex(INSTRUMENT, clock)
        assert isinstance(venue, Venue)
        engine = _engine(venue, clock, ScriptedAgent(_long_once))
        await engine.add_account(
            AccountSpec("a1", "scripted", "moderate", Decimal(10_000), (SYMBOL,))
        )
        clock.set(60_000)
        await engine.on_candle(candle(0, 100, 100, 100, 100))
        assert SYMBOL in engine.accounts["a1"].ledger.positions
        # Between candles the price crosses the stop: the DEX rests nothing, so only the
        # monitor can act, on this very price.
        venue.price = Decimal("97.5")
        clock.set(90_000)
        await engine.on_price(SYMBOL, Decimal("97.5"))
        return engine, venue

    engine, venue = asyncio.run(scenario())
    exits = [o for o in venue.sent if o.role is OrderRole.EXIT]
    assert [(o.side, o.type) for o in exits] == [(Side.SELL, OrderType.MARKET)]
    assert SYMBOL not in engine.accounts["a1"].ledger.positions
    assert engine.violations == 0  # never open without a live stop, monitor included


def test_a_price_between_stop_and_target_sends_nothing() -> None:
    async def scenario() -> MinimalDex:
        clock = SimClock(0)
        venue = MinimalDex(INSTRUMENT, clock)
        engine = _engine(venue, clock, ScriptedAgent(_long_once))
        await engine.add_account(
            AccountSpec("a1", "scripted", "moderate", Decimal(10_000), (SYMBOL,))
        )
        clock.set(60_000)
        await engine.on_candle(candle(0, 100, 100, 100, 100))
        await engine.on_price(SYMBOL, Decimal("98.5"))
        return venue

    venue = asyncio.run(scenario())
    assert [o.role for o in venue.sent] == [OrderRole.ENTRY]


def test_a_venue_that_declares_no_capabilities_is_refused() -> None:
    clock = SimClock(0)
    with pytest.raises(ConfigError, match="does not declare its capabilities"):
        _engine(Undeclared(INSTRUMENT, clock), clock, ScriptedAgent(_long_once))


def test_a_declared_capability_without_its_method_is_refused_when_the_engine_is_built() -> None:
    class Polled(MinimalDex):
        capabilities = VenueCapabilities(
            native_brackets=False,
            updates=Updates.POLLED,  # but no poll()
            keyed_accounts=False,
            reconciliation=False,
            snapshots=False,
            amend=Amend.NONE,
        )

    clock = SimClock(0)
    with pytest.raises(AttributeError, match="poll"):
        _engine(Polled(INSTRUMENT, clock), clock, ScriptedAgent(_long_once))
