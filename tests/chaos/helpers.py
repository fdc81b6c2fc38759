"""A chaos rig: the Engine trading through the real ccxt client (CcxtVenue) against the
in-process exchange simulator, on a SimClock, with the soak's independent checks.

Real time is injected too (:meth:`Chaos.real_ms`): the simulator checks the receive window on
it, the clients stamp their requests with it, and the venue measures its unknown-order grace
on it. It moves only with the market (a candle is a minute of it) and with a ``latency``
fault (the request arrives that much later), so whether a request was late is decided by the
test, never by how loaded the machine is; only the clients' request timeouts stay on the
wall (they are what a fault makes expire)."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.events import Event
from rampart.domain.orders import OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile.context import ReconcileReport
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.retry import RetryPolicy
from rampart_testkit.simulator import ccxt_client, start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle
from rampart_testkit.soak import verify
from rampart_testkit.soak.agent import soak_agent_factory

D = Decimal
SYMBOL = "BTC/USDT"
ORDER_PATHS = ["/api/v3/order"]
"""Also matches ``/api/v3/orderList/…`` (the OCO endpoints): faults match path prefixes."""
TIGHT = {"moderate": {"min_stop": "0.002", "min_rr": "1", "consecutive_losses": 1000}}
"""Synthetic one-minute candles move little: tight brackets make trades close in a test. The
churn agent's trades mostly lose their fees: no cooldown stops it from trading on."""
TIMEOUT_MS = 300
HAND_TIMEOUT_MS = 30_000
RECV_WINDOW_MS = 500
"""Short, so an order whose create timed out is known never to have arrived within a second
of real time (the exchange refuses a request older than its receive window)."""
FAST = RetryPolicy(attempts=3, base_s=0.1, cap_s=1.0)
CHURN = {"every": 2, "hold": 6}


@dataclass
class Chaos:
    sim: SimulatorHandle
    clock: SimClock
    bus: EventBus
    events: list[Event]
    book: verify.Ledgerbook
    protection: verify.Protection = field(default_factory=verify.Protection)
    venue: CcxtVenue | None = None
    engine: Engine | None = None
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    reconciler: Reconciler | None = None
    wall_offset_s: float = 0.0
    real_start_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)

    def real_ms(self) -> int:
        """The injected real time (UTC ms): the start plus the market time moved on since. A
        candle takes milliseconds here where it takes a minute in service."""
        return self.real_start_ms + int(self.wall_offset_s * 1000)

    def wall(self) -> float:
        """The venue's real time in seconds (its ``wall``), on :meth:`real_ms`."""
        return self.real_ms() / 1000

    @property
    def eng(self) -> Engine:
        assert self.engine is not None
        return self.engine

    @property
    def ven(self) -> CcxtVenue:
        assert self.venue is not None
        return self.venue

    def client(self, account_id: str, timeout_ms: int = TIMEOUT_MS) -> Any:
        key, secret = self.keys[account_id]
        return ccxt_client(
            self.sim.url,
            key,
            secret,
            clock_ms=self.real_ms,
            enableRateLimit=False,
            timeout=timeout_ms,
            options={"recvWindow": RECV_WINDOW_MS},
        )

    def by_hand(self, account_id: str) -> Any:
        """The investor's own app on the same key: no fault is injected on it, so its requests
        may take as long as a loaded machine needs (its first loads the markets)."""
        return self.client(account_id, HAND_TIMEOUT_MS)

    async def start_engine(
        self,
        accounts: Mapping[str, Mapping[str, Any] | None],
        snapshot: dict[str, Any] | None = None,
    ) -> Engine:
        """A fresh engine and venue (as a restarted process has), optionally from a snapshot."""
        venue = CcxtVenue(
            {a: self.client(a) for a in accounts},
            clock=self.clock,
            policy=FAST,
            unknown_grace_s=30.0,
            on_call=lambda endpoint, seconds, kind: self.calls.append((endpoint, kind)),
            rng=random.Random(1),
            wall=self.wall,
        )
        await venue.load([SYMBOL])
        engine = Engine(
            venue=venue,
            clock=self.clock,
            bus=self.bus,
            make_agent=soak_agent_factory(),
            profile_for=lambda name: get_profile(name, TIGHT),
            taker_fee=D("0.001"),
        )
        for account_id, params in accounts.items():
            spec = AccountSpec(account_id, "churn", "moderate", D("10000"), (SYMBOL,))
            await engine.add_account(spec, dict(params or CHURN))
        if snapshot is not None:
            engine.load_snapshot(snapshot)
        self.venue, self.engine = venue, engine
        return engine

    async def stop_engine(self) -> None:
        if self.venue is not None:
            await self.venue.aclose()
        self.venue = self.engine = None

    async def market(self, candles: int = 1) -> None:
        """Market time moves on the exchange only (Rampart is not looking). First every request
        the exchange holds is finished (as a minute of real time would see them finished), so
        moving the venue's real time on with the market cannot outrun a request in flight."""
        await self.sim.idle()
        before = self.sim.exchange.now_ms
        await self.sim.advance(candles)
        self.wall_offset_s += (self.sim.exchange.now_ms - before) / 1000
        self.clock.set(max(self.clock.now_ms(), self.sim.exchange.now_ms))

    async def step(self, candles: int = 1) -> None:
        for _ in range(candles):
            await self.market(1)
            for candle in self.sim.exchange.tape_last():
                await self.eng.on_candle(candle)
            self.protection.check(self.eng, self.sim.exchange)

    def unsettled(self) -> list[str]:
        return [
            o.client_id
            for a in self.eng.accounts.values()
            for o in a.orders.values()
            if o.status in (OrderStatus.NEW, OrderStatus.UNKNOWN)
        ]

    async def settle(self, within_s: float = 3600.0) -> None:
        """Faults off; trade on until no order is unconfirmed (an unconfirmed create is declared
        never-arrived only once the receive window has passed in real time), for at most
        ``within_s`` of the injected real time (each step is a minute of it)."""
        self.sim.faults.clear()
        deadline = self.real_ms() + int(within_s * 1000)
        while True:
            await self.sim.idle()
            await self.step()
            if not self.unsettled() or self.real_ms() > deadline:
                return

    async def reconcile(self, **options: Any) -> ReconcileReport:
        reason = options.pop("reason", "start")
        if options or self.reconciler is None:
            self.reconciler = Reconciler(**options)
        report = await self.reconciler.run(self.eng, reason=reason)
        await self.sim.idle()
        return report

    def truth(self) -> list[str]:
        """Differences between the books and the simulator's own state, exactly."""
        held = {t.client_id for t in self.ven.tracked() if t.local}
        return verify.books_differences(self.eng, self.sim.exchange, held)

    def accounting(self) -> verify.Accounting:
        return verify.account(self.eng, self.sim.exchange, self.book)

    def sim_state(self, account_id: str = "a1") -> dict[str, Any]:
        return self.sim.exchange.state()["accounts"][account_id]


@asynccontextmanager
async def chaos(
    accounts: Mapping[str, Mapping[str, Any] | None] | None = None,
    warm: int = 20,
    **sim_options: Any,
) -> AsyncIterator[Chaos]:
    """``sim_options`` go to :func:`start_simulator` (e.g. ``charging=None``: fees in USDT)."""
    accounts = accounts if accounts is not None else {"a1": None}
    async with start_simulator(symbols=[SYMBOL], **sim_options) as sim:
        await sim.advance(warm)
        bus = EventBus()
        events: list[Event] = []
        book = verify.Ledgerbook()
        bus.subscribe(events.append)
        bus.subscribe(book)
        rig = Chaos(sim, SimClock(sim.exchange.now_ms), bus, events, book)
        sim.context.clock_ms = rig.real_ms
        for account_id in accounts:
            rig.keys[account_id] = sim.create_account({"USDT": "10000"}, account_id=account_id)
        await rig.start_engine(accounts)
        try:
            yield rig
        finally:
            await rig.stop_engine()
