"""A rig for reconciliation tests: an engine trading one account on a :class:`FakeVenue`
over an in-memory :class:`Exchange`, the events it publishes, and a restart from its
checkpoint. Deterministic: one :class:`SimClock` moved by the test, shared with the exchange."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from rampart.clock import SimClock
from rampart.domain.events import Event, OrderUpdated, ReconciliationRepaired
from rampart.domain.orders import Order, OrderRole, OrderType, Side, client_order_id
from rampart.trading.account import AccountRuntime
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile.context import ReconcileReport
from rampart.trading.reconcile.reconciler import Reconciler

from .exchange_fake import Exchange, FakeVenue, add_account, make_engine
from .helpers import SYMBOL, ScriptedAgent, candle, long_intent

START = 120_000
"""The rig's first instant (two minutes in, so "a minute before the order" is not 0)."""


@dataclass
class Rig:
    x: Exchange
    venue: FakeVenue
    clock: SimClock
    engine: Engine
    events: list[Event] = field(default_factory=list)
    reconciler: Reconciler = field(default_factory=Reconciler)

    @property
    def acct(self) -> AccountRuntime:
        return self.engine.accounts["a1"]

    def at(self, ms: int) -> None:
        """Time moves on, for the exchange and for Rampart."""
        self.clock.set(ms)
        self.x.now = ms

    async def enter(self, fate: str = "") -> str:
        """The agent buys on the next candle; ``fate`` is what befalls the order
        (:attr:`FakeVenue.next_submit`). Returns its client id."""
        before = {o.client_id for o in self.acct.recent_orders}
        self.venue.next_submit = fate
        await self.engine.on_candle(candle(self.clock.now_ms() // 60_000, 100, 100, 100, 100))
        (cid,) = {o.client_id for o in self.acct.recent_orders} - before
        return cid

    async def send(self, role: OrderRole, price: str, fate: str = "") -> str:
        """The executor sends a resting limit order of 1 for ``role`` (a buy for an entry, else
        a sell), with ``fate`` befalling it; returns its client id."""
        self.acct.seq += 1
        cid = client_order_id("a1", self.acct.seq, role)
        order = Order(
            cid, "a1", SYMBOL, Side.SELL, OrderType.LIMIT, Decimal(1), role, Decimal(price)
        )
        self.venue.next_submit = fate
        await self.engine.executor.submit(self.acct, order)
        await self.engine.executor.drain()
        return cid

    async def fill(self, cid: str, qty: str, price: str = "100", fee: str = "0") -> None:
        self.x.fill(cid, Decimal(qty), Decimal(price), Decimal(fee))
        await self.engine.executor.drain()

    async def protected(self, fee: str = "2") -> tuple[str, str, str]:
        """A position of the entry's whole quantity at 100, with its stop (98) and
        take-profit (105) resting on the exchange: (entry, stop, take-profit) client ids."""
        entry = await self.enter()
        await self.fill(entry, str(self.x.orders[entry].qty), "100", fee)
        legs = {o.role: o.client_id for o in self.x.open_orders("a1")}
        return entry, legs[OrderRole.STOP_LOSS], legs[OrderRole.TAKE_PROFIT]

    def open_on_exchange(self) -> list[tuple[OrderRole, Decimal, Decimal | None]]:
        """The account's open orders on the exchange: (role, quantity, price or stop)."""
        return sorted((o.role, o.qty, o.stop_price or o.price) for o in self.x.open_orders("a1"))

    async def reconcile(self, reason: str = "interval") -> ReconcileReport:
        return await self.reconciler.run(self.engine, reason=reason)

    def checkpoint(self) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(json.dumps(self.engine.snapshot())))

    async def restart(self, snapshot: dict[str, Any] | None = None) -> None:
        """Rampart is killed and started again from its checkpoint (the last, or an older
        one): a new engine and a new venue adapter (following nothing) over the same
        exchange."""
        snapshot = snapshot or self.checkpoint()
        self.events.clear()
        self.venue = FakeVenue(self.x)
        bus = EventBus()
        bus.subscribe(self.events.append)
        self.engine = make_engine(self.venue, _agent(), self.clock, bus)
        await add_account(self.engine)
        self.engine.load_snapshot(snapshot)
        self.reconciler = Reconciler()

    def repairs(self, kind: str | None = None) -> list[ReconciliationRepaired]:
        return [
            e
            for e in self.events
            if isinstance(e, ReconciliationRepaired) and kind in (None, e.kind)
        ]

    def about(self, repair: ReconciliationRepaired, cid: str | None) -> None:
        """``repair`` is recorded against account a1, the order ``cid`` and the market."""
        assert (repair.account_id, repair.client_id, repair.symbol) == ("a1", cid, SYMBOL)
        assert repair.ts == self.clock.now_ms()

    def update_events(self, cid: str) -> list[OrderUpdated]:
        return [e for e in self.events if isinstance(e, OrderUpdated) and e.order.client_id == cid]

    def updates(self, cid: str) -> list[Order]:
        return [
            e.order for e in self.events if isinstance(e, OrderUpdated) and e.order.client_id == cid
        ]


def _agent() -> ScriptedAgent:
    """Buys on every candle it is shown (the tests show it one when they want an entry)."""
    return ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.05")])


async def rig() -> Rig:
    """Account a1 with 10,000 USDT, flat, at :data:`START`."""
    x = Exchange()
    x.now = START
    venue = FakeVenue(x)
    clock = SimClock(START)
    bus = EventBus()
    engine = make_engine(venue, _agent(), clock, bus)
    out = Rig(x, venue, clock, engine)
    bus.subscribe(out.events.append)
    await add_account(engine)
    return out


__all__ = ["START", "SYMBOL", "Rig", "rig"]
