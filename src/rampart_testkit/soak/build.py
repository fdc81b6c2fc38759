"""Building the soak's parts: accounts on the simulator, ccxt clients, the timed ccxt venue,
the engine and the exchange feed; and rebuilding engine and venue from a checkpoint, as a
restarted process does."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from rampart.clock import Clock, SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.orders import Order
from rampart.market.ccxt_feed import CcxtFeed
from rampart.risk.profiles import RiskProfile, get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.ports import Venue
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.retry import RetryPolicy
from rampart.wiring.venues import stale_marker
from rampart_testkit.simulator import ccxt_client
from rampart_testkit.simulator.exchange import SimExchange
from rampart_testkit.simulator.runner import SimulatorHandle
from rampart_testkit.simulator.tape import MarketTape
from rampart_testkit.soak.agent import soak_agent_factory
from rampart_testkit.soak.config import AGENT_MIX, PROFILE_MIX, SOAK_PROFILES, SoakConfig
from rampart_testkit.soak.stats import Latency

TAKER_FEE = Decimal("0.001")
POLICY = RetryPolicy(attempts=4, base_s=0.5, cap_s=10.0)
OnCall = Callable[[str, float, str | None], None]


class TimedVenue(CcxtVenue):
    """The ccxt venue, timing each order's round trip (send → the exchange's answer)."""

    order_latency: Latency

    async def submit(self, order: Order) -> None:
        await self.order_latency.timed(super().submit(order))

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        await self.order_latency.timed(super().submit_oco(stop_loss, take_profit))


def exchange(config: SoakConfig) -> SimExchange:
    """The simulated exchange on the synthetic market, its histories bounded: the soak
    measures Rampart's memory, so the exchange's own must stop growing early."""
    tape = MarketTape.synthetic(
        list(config.symbols),
        seed=config.seed,
        timeframe=config.timeframe,
        history=max(config.sim_candles, config.warmup_candles + 10),
    )
    return SimExchange(tape, history=config.sim_history)


def client(config: SoakConfig, sim: SimulatorHandle, key: str | None, secret: str | None) -> Any:
    return ccxt_client(
        sim.url,
        key,
        secret,
        enableRateLimit=False,
        timeout=config.client_timeout_ms,
        options={"recvWindow": config.recv_window_ms},
    )


AccountSpecs = list[tuple[AccountSpec, dict[str, Any] | None]]
"""Each account's spec and its agent's parameters."""


def specs(
    config: SoakConfig, symbols: tuple[str, ...] | None = None, quote: str = "USDT"
) -> AccountSpecs:
    """The accounts: a mix of agents, profiles and ``symbols`` (the config's by default;
    every fourth account trades all), priced in ``quote``."""
    out: AccountSpecs = []
    symbols = config.symbols if symbols is None else symbols
    for i, account_id in enumerate(config.account_ids()):
        traded = symbols if i % 4 == 3 else (symbols[i % len(symbols)],)
        agent = AGENT_MIX[i % len(AGENT_MIX)]
        params = {"every": 3 + i % 5} if agent == "churn" else None
        profile = PROFILE_MIX[i % len(PROFILE_MIX)]
        spec = AccountSpec(account_id, agent, profile, config.capital, traded, quote=quote)
        out.append((spec, params))
    return out


def open_accounts(config: SoakConfig, sim: SimulatorHandle) -> dict[str, Any]:
    """Fund every account on the simulator with its capital; one ccxt client (key) each."""
    clients = {}
    for account_id in config.account_ids():
        key, secret = sim.create_account({"USDT": str(config.capital)}, account_id=account_id)
        clients[account_id] = client(config, sim, key, secret)
    return clients


async def venue(
    config: SoakConfig,
    clients: dict[str, Any],
    public: Any,
    clock: Clock,
    on_call: OnCall,
    latency: Latency,
    seed: int,
) -> TimedVenue:
    built = TimedVenue(
        clients,
        clock=clock,
        public=public,
        policy=POLICY,
        unknown_grace_s=30.0,
        on_call=on_call,
        rng=random.Random(seed),
    )
    built.order_latency = latency
    await built.load(config.symbols)
    return built


def _profile(name: str) -> RiskProfile:
    return get_profile(name, SOAK_PROFILES)


def profiles_of(overrides: dict[str, dict[str, Any]]) -> Callable[[str], RiskProfile]:
    """The soak's profiles with ``overrides`` on top (a wall run's shorter cooldown)."""
    merged = {n: {**SOAK_PROFILES[n], **overrides.get(n, {})} for n in SOAK_PROFILES}

    def profile(name: str) -> RiskProfile:
        return get_profile(name, merged)

    return profile


async def engine(
    config: SoakConfig,
    venue: Venue,
    clock: Clock,
    bus: EventBus,
    signal: Latency,
    snapshot: dict[str, Any] | None = None,
    history: Iterable[Candle] = (),
    *,
    accounts: AccountSpecs | None = None,
    taker_fee: Decimal = TAKER_FEE,
    compute_latency: bool = False,
    profile_for: Callable[[str], RiskProfile] = _profile,
) -> Engine:
    """The engine with every account (``accounts``, by default the ccxt soak's); from
    ``snapshot`` (and indicators rebuilt from ``history``) when it is a restart. Every soak
    builds its engine here; ``compute_latency``: the signal latency is the agents' own work
    (a remote soak, whose venue calls cross the network)."""
    built = Engine(
        venue=venue,
        clock=clock,
        bus=bus,
        make_agent=soak_agent_factory(signal, compute_only=compute_latency),
        profile_for=profile_for,
        taker_fee=taker_fee,
    )
    for spec, params in specs(config) if accounts is None else accounts:
        await built.add_account(spec, params)
    if snapshot is not None:
        built.load_snapshot(snapshot)
    for candle in history:
        built.warm(candle)
    return built


def feed(
    config: SoakConfig, sim: SimulatorHandle, clock: SimClock, stale: set[str], on_call: OnCall
) -> CcxtFeed:
    tf_s = clock_tf_s(config)
    return CcxtFeed(
        client(config, sim, None, None),
        list(config.symbols),
        clock=clock,
        timeframe=config.timeframe,
        poll_every_s=tf_s,
        stale_after_s=3 * tf_s,
        on_stale=stale_marker(stale),
        since_ms=sim.exchange.now_ms - int((config.warmup_candles + 1) * tf_s * 1000),
        on_call=on_call,
        rng=random.Random(config.seed + 2),
    )


def clock_tf_s(config: SoakConfig) -> float:
    from rampart.domain.candles import timeframe_ms

    return timeframe_ms(config.timeframe) / 1000


def service_metrics() -> Any:
    """The service's Prometheus metrics when the ops package is installed, else None."""
    try:
        from prometheus_client import CollectorRegistry

        from rampart.observability.metrics import Metrics
    except ImportError:
        return None
    return Metrics(CollectorRegistry())
