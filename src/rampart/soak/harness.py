"""The soak: the whole engine against the in-process exchange simulator on simulated time.

Each step releases one candle of market data on the simulator, moves the SimClock to it, lets
the exchange feed (ccxt, the simulator's klines) deliver the closed candles and the engine act
on them through the ccxt venue, reconciles when due (start, after a reconnect, on an
interval), and switches seeded fault episodes on and off. In quiet spells the engine's books
are checked against the simulator's own state, exactly; every step every position's stop-loss
is looked for on the exchange. The run is paced so simulated time never goes faster than
``speed`` seconds per wall second.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog

from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import timeframe_ms
from rampart.domain.events import Event, ReconciliationRepaired
from rampart.domain.orders import Order
from rampart.market.ccxt_feed import CcxtFeed
from rampart.risk.profiles import RiskProfile, get_profile
from rampart.simulator import ccxt_client, start_simulator
from rampart.simulator.runner import SimulatorHandle
from rampart.soak import verify
from rampart.soak.agent import soak_agent_factory
from rampart.soak.chaos import FaultPlan
from rampart.soak.config import AGENT_MIX, PROFILE_MIX, SOAK_PROFILES, SoakConfig
from rampart.soak.stats import Latency, rss_mb
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile import (
    Reconciler,
    ReconcileReport,
    ReconcileSchedule,
    ReconnectWatch,
)
from rampart.venue_factory import stale_marker
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.venues.retry import RetryPolicy

log = structlog.get_logger("rampart.soak")

Progress = Callable[[int, int, "SoakStats"], None]
TAKER_FEE = Decimal("0.001")


class TimedVenue(CcxtVenue):
    """The ccxt venue, timing each order's round trip (send → the exchange's answer)."""

    order_latency: Latency

    async def submit(self, order: Order) -> None:
        started = time.perf_counter()
        try:
            await super().submit(order)
        finally:
            self.order_latency.add(time.perf_counter() - started)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        started = time.perf_counter()
        try:
            await super().submit_oco(stop_loss, take_profit)
        finally:
            self.order_latency.add(time.perf_counter() - started)


@dataclass
class SoakStats:
    steps: int = 0
    total_steps: int = 0
    candles: int = 0
    crashes: list[str] = field(default_factory=list)
    reconciliations: Counter[str] = field(default_factory=Counter)
    reconcile_mismatch_under_faults: int = 0
    checks: int = 0
    checks_passed: int = 0
    checks_deferred: int = 0
    failures: list[str] = field(default_factory=list)
    final_differences: list[str] = field(default_factory=list)
    order_latency: Latency = field(default_factory=Latency)
    signal_latency: Latency = field(default_factory=Latency)
    rss_start_mb: float = 0.0
    rss_baseline_mb: float = 0.0
    rss_end_mb: float = 0.0
    wall_s: float = 0.0
    sim_s: float = 0.0
    repairs_stored: int = 0
    reconnects: int = 0
    protection: verify.Protection = field(default_factory=verify.Protection)
    accounting: verify.Accounting = field(default_factory=verify.Accounting)
    errors: Counter[str] = field(default_factory=Counter)
    faults_fired: Counter[str] = field(default_factory=Counter)
    episodes: Counter[str] = field(default_factory=Counter)
    repairs: Counter[str] = field(default_factory=Counter)
    violations: int = 0
    fills: int = 0
    orders: int = 0


class Soak:
    def __init__(self, config: SoakConfig, progress: Progress | None = None) -> None:
        self.cfg = config
        self.progress = progress
        self.stats = SoakStats()
        self.rng = random.Random(config.seed)
        self.book = verify.Ledgerbook()
        self.tf_ms = timeframe_ms(config.timeframe)
        self.metrics: Any = None
        self.writer: StoreWriter | None = None

    # -- building -----------------------------------------------------------------------------

    def _client(self, sim: SimulatorHandle, key: str | None, secret: str | None) -> Any:
        return ccxt_client(
            sim.url,
            key,
            secret,
            enableRateLimit=False,
            timeout=self.cfg.client_timeout_ms,
            options={"recvWindow": self.cfg.recv_window_ms},
        )

    async def _build(self, sim: SimulatorHandle) -> tuple[Engine, TimedVenue, CcxtFeed]:
        cfg = self.cfg
        clock = SimClock(sim.exchange.now_ms)
        self.clock = clock
        clients = {}
        for account_id in cfg.account_ids():
            key, secret = sim.create_account({"USDT": str(cfg.capital)}, account_id=account_id)
            clients[account_id] = self._client(sim, key, secret)
        self.watch = ReconnectWatch(self._count_call)
        venue = TimedVenue(
            clients,
            clock=clock,
            public=self._client(sim, None, None),
            policy=RetryPolicy(attempts=4, base_s=0.5, cap_s=10.0),
            unknown_grace_s=30.0,
            on_call=self.watch,
            rng=random.Random(cfg.seed + 1),
        )
        venue.order_latency = self.stats.order_latency
        await venue.load(cfg.symbols)
        self.bus = EventBus()
        self.bus.subscribe(self.book)
        self.bus.subscribe(self._on_event)

        def profile_for(name: str) -> RiskProfile:
            return get_profile(name, SOAK_PROFILES)

        engine = Engine(
            venue=venue,
            clock=clock,
            bus=self.bus,
            make_agent=soak_agent_factory(self.stats.signal_latency),
            profile_for=profile_for,
            taker_fee=TAKER_FEE,
        )
        for i, account_id in enumerate(cfg.account_ids()):
            symbols = cfg.symbols if i % 4 == 3 else (cfg.symbols[i % len(cfg.symbols)],)
            agent = AGENT_MIX[i % len(AGENT_MIX)]
            params = {"every": 3 + i % 5} if agent == "churn" else None
            spec = AccountSpec(
                account_id, agent, PROFILE_MIX[i % len(PROFILE_MIX)], cfg.capital, symbols
            )
            await engine.add_account(spec, params)
        feed = CcxtFeed(
            self._client(sim, None, None),
            list(cfg.symbols),
            clock=clock,
            timeframe=cfg.timeframe,
            poll_every_s=self.tf_ms / 1000,
            stale_after_s=3 * self.tf_ms / 1000,
            on_stale=stale_marker(engine.stale_symbols),
            since_ms=sim.exchange.now_ms - (cfg.warmup_candles + 1) * self.tf_ms,
            on_call=self.watch,
            rng=random.Random(cfg.seed + 2),
        )
        return engine, venue, feed

    def _count_call(self, endpoint: str, seconds: float, kind: str | None) -> None:
        if kind is not None:
            self.stats.errors[kind] += 1

    def _on_event(self, event: Event) -> None:
        if isinstance(event, ReconciliationRepaired):
            self.stats.repairs[event.kind] += 1
            if self.metrics is not None:
                self.metrics.repair(event.kind)

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> SoakStats:
        cfg = self.cfg
        self.metrics = _metrics()
        self.stats.rss_start_mb = rss_mb()
        started = time.perf_counter()
        async with start_simulator(
            symbols=cfg.symbols,
            seed=cfg.seed,
            timeframe=cfg.timeframe,
            fault_seed=cfg.fault_seed if cfg.fault_seed is not None else cfg.seed,
        ) as sim:
            await sim.advance(cfg.warmup_candles + 2)
            engine, venue, feed = await self._build(sim)
            self.writer = self._store(engine)
            try:
                await self._loop(sim, engine, venue, feed)
                await self._finish(sim, engine, venue, feed)
            finally:
                self._flush()
                await feed.close()
                await venue.aclose()
        self.stats.wall_s = time.perf_counter() - started
        self.stats.rss_end_mb = rss_mb()
        return self.stats

    def _store(self, engine: Engine) -> StoreWriter | None:
        if not self.cfg.store:
            return None
        self.cfg.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.cfg.out_dir / "soak.db"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self.db = open_database(f"sqlite:///{path}")
        writer = StoreWriter(self.db)
        now = engine.clock.now_ms()
        for acct in engine.accounts.values():
            writer.upsert_account(acct.spec, acct.state.value, acct.paused, now)
        self.bus.subscribe(writer)
        return writer

    def _flush(self) -> None:
        if self.writer is None:
            return
        try:
            self.writer.flush()
            self.stats.repairs_stored = self.writer.stats.rows.get("reconciliation_repairs", 0)
        except Exception as exc:  # the store is not what the soak measures; say so and go on
            self.stats.crashes.append(f"store flush failed: {exc}")
            self.writer.discard()

    async def _loop(
        self, sim: SimulatorHandle, engine: Engine, venue: TimedVenue, feed: CcxtFeed
    ) -> None:
        cfg = self.cfg
        steps = max(1, int(cfg.duration_s * 1000 // self.tf_ms))
        self.stats.total_steps = steps
        plan = FaultPlan(
            sim.faults,
            cfg.faults,
            self.rng,
            client_timeout_ms=cfg.client_timeout_ms,
            recv_window_ms=cfg.recv_window_ms,
        )
        self.reconciler = Reconciler(unknown_grace_s=30.0)
        schedule = ReconcileSchedule(cfg.reconcile_every_s)
        feed_ok = True
        warm = True
        pace_start = time.perf_counter()
        baseline_at = max(1, steps // 10)
        for step in range(steps):
            await sim.advance(1)
            self.clock.set(max(self.clock.now_ms(), sim.exchange.now_ms))
            candles, ok = await feed.poll_once()
            for candle in candles:
                if warm and candle.close_ts < sim.exchange.now_ms - self.tf_ms:
                    engine.warm(candle)
                    continue
                warm = False
                await self._guarded(engine.on_candle(candle), "engine")
                self.stats.candles += 1
            recovered = ok and not feed_ok
            feed_ok = ok
            reason = schedule.due(self.clock.now_ms(), self.watch.take() or recovered)
            if reason is not None:
                await self._reconcile(engine, reason, plan.quiet)
            if plan.quiet_for(step) >= cfg.settle_candles and reason is not None:
                await self._check(sim, engine, venue)
            self.stats.protection.check(engine, sim.exchange)
            plan.tick(step)
            self.stats.steps = step + 1
            if step + 1 == baseline_at:
                self.stats.rss_baseline_mb = rss_mb()
            if (step + 1) % cfg.flush_every == 0:
                self._flush()
            if self.progress is not None:
                self.progress(step + 1, steps, self.stats)
            ahead = (step + 1) * self.tf_ms / 1000 / cfg.speed - (time.perf_counter() - pace_start)
            if ahead > 0:
                await asyncio.sleep(ahead)
        plan.stop(steps)
        self.stats.episodes = plan.episodes

    async def _guarded(self, work: Any, what: str) -> Any:
        """Run engine work; anything escaping it is a critical failure, recorded, not fatal
        to the soak (so the report still says what happened)."""
        try:
            return await work
        except Exception as exc:
            self.stats.crashes.append(f"{what}: {type(exc).__name__}: {exc}")
            log.error("soak_crash", what=what, error=traceback.format_exc(limit=5))
            return None

    async def _reconcile(self, engine: Engine, reason: str, quiet: bool) -> ReconcileReport | None:
        report = await self._guarded(self.reconciler.run(engine, reason=reason), "reconcile")
        if report is not None:
            self.stats.reconciliations[reason] += 1
            if not report.matches and not quiet:
                self.stats.reconcile_mismatch_under_faults += 1
        return report

    async def _check(self, sim: SimulatorHandle, engine: Engine, venue: TimedVenue) -> None:
        """After a reconciliation in a quiet spell: the books must equal the exchange."""
        await sim.idle()
        if any(
            o.status in verify.UNSETTLED
            for a in engine.accounts.values()
            for o in a.orders.values()
        ):
            self.stats.checks_deferred += 1
            return
        held = {t.client_id for t in venue.tracked() if t.local}
        differences = verify.books_differences(engine, sim.exchange, held)
        self.stats.checks += 1
        if differences:
            self.stats.failures.extend(differences[:5])
        else:
            self.stats.checks_passed += 1

    async def _finish(
        self, sim: SimulatorHandle, engine: Engine, venue: TimedVenue, feed: CcxtFeed
    ) -> None:
        """No more faults: let unconfirmed orders settle (the exchange's receive window runs
        on real time), reconcile, and compare everything one last time."""
        sim.faults.clear()
        deadline = time.perf_counter() + self.cfg.final_settle_wall_s
        while True:
            await sim.idle()
            await sim.advance(1)
            self.clock.set(max(self.clock.now_ms(), sim.exchange.now_ms))
            candles, _ = await feed.poll_once()
            for candle in candles:
                await self._guarded(engine.on_candle(candle), "engine")
            unsettled = any(
                o.status in verify.UNSETTLED
                for a in engine.accounts.values()
                for o in a.orders.values()
            )
            if not unsettled or time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.2)
        await self._reconcile(engine, "final", True)
        await sim.idle()
        held = {t.client_id for t in venue.tracked() if t.local}
        self.stats.final_differences = verify.books_differences(engine, sim.exchange, held)
        self.stats.checks += 1
        if self.stats.final_differences:
            self.stats.failures.extend(self.stats.final_differences[:5])
        else:
            self.stats.checks_passed += 1
        self.stats.protection.check(engine, sim.exchange)
        self.stats.accounting = verify.account(engine, sim.exchange, self.book)
        self.stats.violations = engine.violations
        self.stats.faults_fired = Counter(sim.faults.fired)
        self.stats.reconnects = self.watch.reconnects
        self.stats.fills = self.book.fills_booked
        self.stats.orders = sum(len(s) for s in self.book.orders.values())
        self.stats.sim_s = self.stats.steps * self.tf_ms / 1000


def _metrics() -> Any:
    """The service's Prometheus metrics when the ops package is installed, else None."""
    try:
        from prometheus_client import CollectorRegistry

        from rampart.ops.metrics import Metrics
    except ImportError:
        return None
    return Metrics(CollectorRegistry())


async def run_soak(config: SoakConfig, progress: Progress | None = None) -> SoakStats:
    return await Soak(config, progress).run()
