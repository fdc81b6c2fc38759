"""A SolanaVenue over a fresh stand-in: a funded wallet, reports collected, and a ``sleep``
that moves the chain on instead of waiting (no wall-time waits)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from solders.keypair import Keypair

from rampart.agents.base import Agent
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.events import Event
from rampart.domain.orders import Order, OrderRole, OrderType, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import VenueReport
from rampart.venues.solana.journal import MemoryJournal, SwapJournal
from rampart.venues.solana.settings import SolanaConfig
from rampart.venues.solana.venue import SolanaVenue
from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim

from .client_kit import Recorder

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


@dataclass
class Desk:
    sim: SolanaSimHandle
    venue: SolanaVenue
    keypair: Keypair
    http: httpx.AsyncClient
    journal: SwapJournal
    obs: Recorder
    reports: list[VenueReport] = field(default_factory=list)

    @property
    def pubkey(self) -> str:
        return str(self.keypair.pubkey())

    def config(self, **changes: Any) -> SolanaConfig:
        return make_config(self.sim, **changes)

    def new_venue(self, **changes: Any) -> SolanaVenue:
        """Another venue over the same journal (a restart)."""
        venue = SolanaVenue(
            self.config(**changes),
            clock=SimClock(1_700_000_000_000),
            journal=self.journal,
            observer=self.obs,
            http=self.http,
            keypairs={"alice": str(self.keypair)},
            sleep=self.chain_sleep(),
        )
        venue.set_listener(self.reports.append)
        return venue

    def chain_sleep(self, slots: int = 1) -> Callable[[float], Awaitable[None]]:
        return chain_sleep(self.sim, slots)

    def fills(self) -> list[VenueReport]:
        return [r for r in self.reports if r.fill is not None]


def chain_sleep(sim: SolanaSimHandle, slots: int = 1) -> Callable[[float], Awaitable[None]]:
    """A venue's ``sleep`` that moves the chain on ``slots`` instead of waiting."""

    async def sleep(seconds: float) -> None:
        del seconds
        await sim.advance(slots)

    return sleep


async def engine_on_stand_in(
    sim: SolanaSimHandle,
    http: httpx.AsyncClient,
    keypair: Keypair,
    clock: SimClock,
    agent: Agent,
    events: list[Event],
    symbol: str = "SOL/USDC",
    **cfg: Any,
) -> Engine:
    """An engine with one account, ``a1`` (aggressive, 1000 USDC on ``symbol``), trading
    ``agent`` through a Solana venue with ``keypair``'s wallet on the stand-in; its events
    are collected in ``events``."""
    market = {"base_mint": sim.mint("SOL"), "quote_mint": sim.mint("USDC")}
    venue = SolanaVenue(
        make_config(sim, markets={symbol: market}, **cfg),
        clock=clock,
        journal=MemoryJournal(),
        http=http,
        keypairs={"a1": str(keypair)},
        sleep=chain_sleep(sim),
    )
    await venue.load([symbol])
    bus = EventBus()
    bus.subscribe(events.append)
    engine = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=lambda name, params: agent,
        profile_for=get_profile,
        taker_fee=Decimal("0.001"),
    )
    await engine.add_account(
        AccountSpec("a1", agent.name, "aggressive", Decimal(1000), (symbol,), quote="USDC")
    )
    return engine


def make_config(sim: SolanaSimHandle, **changes: Any) -> SolanaConfig:
    data: dict[str, Any] = {
        "rpc_urls": [sim.rpc_url("a"), sim.rpc_url("b")],
        "jupiter_url": sim.jupiter_url,
        "jupiter_api_key": sim.jupiter_api_key,
        "bags_url": sim.bags_url,
        "bags_api_key": sim.api_key,
        "confirm_poll_s": 0.1,
        "confirm_timeout_s": 30,
        "request_timeout_s": 5,
    }
    data.update(changes)
    return SolanaConfig.model_validate(data)


def order(cid: str, side: Side, qty: str, kind: OrderType = OrderType.MARKET) -> Order:
    role = OrderRole.ENTRY if side is Side.BUY else OrderRole.EXIT
    return Order(cid, "alice", "SOL/USDC", side, kind, Decimal(qty), role)


def with_desk(
    body: Callable[[Desk], Awaitable[None]],
    slots_per_sleep: int = 1,
    sim_options: dict[str, Any] | None = None,
    **cfg: Any,
) -> None:
    """``sim_options`` go to the stand-in (e.g. ``partner_share``), ``cfg`` to the settings."""

    async def main() -> None:
        opts = {"slot_ms": 0, **(sim_options or {})}
        async with start_solana_sim(**opts) as sim, httpx.AsyncClient() as http:
            kp = Keypair()
            sim.fund(
                str(kp.pubkey()),
                lamports=1_000_000_000,
                tokens={USDC: 10_000 * 10**6, SOL: 20 * 10**9},
            )
            journal, obs = MemoryJournal(), Recorder()
            venue = SolanaVenue(
                make_config(sim, **cfg),
                clock=SimClock(1_700_000_000_000),
                journal=journal,
                observer=obs,
                http=http,
                keypairs={"alice": str(kp)},
            )
            desk = Desk(sim, venue, kp, http, journal, obs)
            venue.sleep = desk.chain_sleep(slots_per_sleep)
            venue.set_listener(desk.reports.append)
            await body(desk)

    asyncio.run(main())
