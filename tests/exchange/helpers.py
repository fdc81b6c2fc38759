"""A CcxtVenue on the real ccxt binance client against the exchange simulator, on a SimClock."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side, client_order_id
from rampart.trading.ports import VenueReport
from rampart.venues.ccxt_venue import BracketMode, CcxtVenue
from rampart.venues.retry import RetryPolicy
from rampart_testkit.simulator import ccxt_client, start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle

SYMBOL = "BTC/USDT"
FAST = RetryPolicy(attempts=3, base_s=0.1, cap_s=1.0)
RECV_WINDOW_MS = 1000
"""Short, so an order lost in flight is known not to exist after a second of real time."""


class ManualWall:
    """Real (monotonic) time for the venue's receive-window check, moved by the test.

    For faults after which nothing can ever arrive (a dropped request): the test need not
    wait out the receive window on the wall clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Rig:
    sim: SimulatorHandle
    venue: CcxtVenue
    clock: SimClock
    reports: list[VenueReport]
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    seq: int = 0

    async def advance(self, candles: int = 1) -> list[Candle]:
        """Move the simulator's market on and the clock with it; the new last candles."""
        await self.sim.advance(candles)
        self.clock.set(max(self.clock.now_ms(), self.sim.exchange.now_ms))
        return [c for c in self.sim.exchange.tape_last() if isinstance(c, Candle)]

    def price(self, symbol: str = SYMBOL) -> Decimal:
        return self.sim.exchange.last_price(symbol)

    def order(
        self,
        account: str = "a1",
        side: Side = Side.BUY,
        kind: OrderType = OrderType.MARKET,
        qty: str = "0.01",
        price: Decimal | None = None,
        stop: Decimal | None = None,
        role: OrderRole = OrderRole.ENTRY,
    ) -> Order:
        self.seq += 1
        return Order(
            client_id=client_order_id(account, self.seq, role),
            account_id=account,
            symbol=SYMBOL,
            side=side,
            type=kind,
            qty=Decimal(qty),
            role=role,
            price=price,
            stop_price=stop,
        )

    def sim_orders(self, account: str = "a1") -> list[Any]:
        """Every order the simulator holds for the account, open or finished."""
        sub = self.sim.exchange.sub(account)
        return list(sub.open.values()) + list(getattr(sub, "done", {}).values())

    def statuses(self, client_id: str) -> list[OrderStatus]:
        return [r.status for r in self.reports if r.client_id == client_id and r.fill is None]

    def fills(self, client_id: str | None = None) -> list[Any]:
        return [
            r.fill
            for r in self.reports
            if r.fill is not None and (client_id is None or r.client_id == client_id)
        ]


def sim_client(sim: SimulatorHandle, key: str, secret: str, timeout_ms: int = 2000) -> Any:
    return ccxt_client(
        sim.url,
        key,
        secret,
        enableRateLimit=False,
        timeout=timeout_ms,
        options={"recvWindow": RECV_WINDOW_MS},
    )


@asynccontextmanager
async def rig(
    accounts: Mapping[str, Mapping[str, str]] | None = None,
    symbols: Sequence[str] = (SYMBOL,),
    *,
    timeout_ms: int = 2000,
    bracket_mode: BracketMode | None = None,
    policy: RetryPolicy = FAST,
    grace_s: float = 30.0,
    warm: int = 3,
    wall: Callable[[], float] = time.monotonic,
    bnb_fees: Sequence[str] = (),
    **sim_options: Any,
) -> AsyncIterator[Rig]:
    """``sim_options`` go to :func:`start_simulator`; ``bnb_fees`` names the accounts that pay
    their commissions in BNB there."""
    accounts = accounts or {"a1": {"USDT": "10000"}}
    async with start_simulator(symbols=symbols, **sim_options) as sim:
        await sim.advance(warm)
        clock = SimClock(sim.exchange.now_ms)
        clients = {}
        for account_id, balances in accounts.items():
            key, secret = sim.create_account(
                dict(balances), account_id=account_id, bnb_fees=account_id in bnb_fees
            )
            clients[account_id] = sim_client(sim, key, secret, timeout_ms)
        calls: list[tuple[str, str | None]] = []
        venue = CcxtVenue(
            clients,
            clock=clock,
            policy=policy,
            bracket_mode=bracket_mode,
            unknown_grace_s=grace_s,
            on_call=lambda endpoint, seconds, kind: calls.append((endpoint, kind)),
            rng=random.Random(1),
            wall=wall,
        )
        reports: list[VenueReport] = []
        venue.set_listener(reports.append)
        await venue.load(symbols)
        try:
            yield Rig(sim, venue, clock, reports, calls)
        finally:
            await venue.aclose()
