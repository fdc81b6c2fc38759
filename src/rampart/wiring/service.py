"""``rampart run`` as one service: the candle loop, the HTTP API, the alert engine and a health
sampler, each supervised, on one event loop, with one instance per database.

Two clocks. Business time (``Service.business``) is what every figure an operator or investor
sees sits on: orders, reports, scheduler slots, gate windows, GO/NO-GO, uptime, incidents. On a
simulated feed (synthetic or replay) it is the close of the last candle traded, so a day of
trading at 300× is a day in the reports; on an exchange feed it is the wall clock. Liveness
(heartbeats, alert ``for`` durations, rate limits, feed freshness, HTTP timeouts) runs on the
ops clock, the wall clock, because that is what an operator and a load balancer live in. The
business time is recorded in the store at every heartbeat so that commands run in another
process (``report daily``, ``go-nogo``, drills) read the same axis. Tests pass a SimClock as the
ops clock.

SIGTERM or SIGINT sets the stop event: the candle loop finishes the candle in hand (no new
entries after it), the API finishes requests in flight, a checkpoint is written, and the process
exits 0 within ``ops.shutdown_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import structlog
from rich.console import Console
from rich.live import Live

from rampart.api.app import create_app
from rampart.api.context import ApiContext
from rampart.api.server import ApiServer
from rampart.clock import Clock, FeedClock, SimClock, WallClock
from rampart.config import Settings
from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import ConfigError
from rampart.market.service_feed import feed_of
from rampart.modes import check_trading_mode
from rampart.observability.alerts.build import build_alerting
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.db_metrics import instrument_database
from rampart.observability.instrumented import instrument_venue
from rampart.observability.metrics import Metrics, install_log_counter
from rampart.operator.control import restore_operator_accounts
from rampart.rollout.controller import RolloutController
from rampart.rollout.jobs import start_rollout
from rampart.runtime.business_time import MIN_PACED_STEP_S, business_start, feed_is_simulated
from rampart.runtime.health import Health
from rampart.runtime.instance_lock import InstanceLock, acquire_instance_lock
from rampart.runtime.messaging import Messenger
from rampart.runtime.money_notices import MoneyNotices
from rampart.runtime.probes import database_probe, feed_probe, venue_probe
from rampart.runtime.scheduler import Scheduler
from rampart.runtime.shutdown import StopSignals
from rampart.runtime.supervisor import Beat, Supervisor, sleep_unless_stopped, ticking
from rampart.store.service_clock import ServiceTimeRecorder
from rampart.telegram.bot import RampartBot, build_bot
from rampart.telegram.investors import restore_investor_accounts
from rampart.trading.reconcile_schedule import ReconnectWatch
from rampart.wiring.exchange_loop import ExchangeLoop, ReconcileLoop, reconcile_loop
from rampart.wiring.jobs import register_jobs
from rampart.wiring.session import TradingSession, instruments_for, validate_accounts
from rampart.wiring.terminal_view import render, status_line
from rampart.wiring.venues import load_instruments

log = structlog.get_logger("rampart.wiring.service")

VIEW_REFRESH_S = 0.25
FEED_BOUND_CANDLES = 3
"""The feed counts as stale after this many candle intervals (at the feed's speed) with none."""
MIN_FEED_BOUND_S = 60.0


@dataclass
class LoopState:
    processed: int = 0
    """Candles traded in this run (not counting the ones replayed to warm up)."""
    index: int = 0
    """Position in the candle stream of the next candle to trade."""
    finished: bool = False
    last_view: float = 0.0
    errors: list[str] = field(default_factory=list)


class Service:
    def __init__(
        self,
        settings: Settings,
        console: Console,
        *,
        max_candles: int | None = None,
        view: bool | None = None,
        ops_clock: Clock | None = None,
        feed_clock: Clock | None = None,
        install_signals: bool = True,
    ) -> None:
        validate_accounts(settings)
        self.settings = settings
        self.console = console
        self.max_candles = max_candles
        self.show = console.is_terminal if view is None else view
        self.ops_clock: Clock = ops_clock or WallClock()
        self.install_signals = install_signals
        self.clock = SimClock(0)
        """The engine's clock: set to each traded candle's close."""
        self.business: Clock = (
            FeedClock(self.clock, self.ops_clock)
            if feed_is_simulated(settings)
            else (feed_clock or WallClock())
        )
        """The clock every figure is on (see the module's docstring)."""
        self.stop = asyncio.Event()
        self.state = LoopState()
        ccxt = settings.venue.kind == "ccxt"
        self.venue_label = settings.venue.exchange if ccxt else settings.venue.kind
        self.metrics = Metrics(venue=self.venue_label)
        self.reconnects = (
            ReconnectWatch(self.metrics.exchange_hook(self.venue_label)) if ccxt else None
        )
        self.exchange_loop: ExchangeLoop | None = None
        self.reconcile_loop: ReconcileLoop | None = None
        self.bot: RampartBot | None = None
        self._feed_clock = feed_clock
        self.health = Health()
        self.session: TradingSession | None = None
        self.api: ApiServer | None = None
        self.alerts: AlertEngine | None = None
        self.scheduler: Scheduler | None = None
        self.uptime: ServiceTimeRecorder | None = None
        self.messenger: Messenger | None = None
        self.notices: MoneyNotices | None = None
        self.rollout: RolloutController | None = None
        """Who rollout and reports tell: the Telegram bot when one runs."""
        self.lock = asyncio.Lock()
        self.supervisor = Supervisor(
            self.ops_clock,
            initial_backoff_s=settings.ops.restart_initial_s,
            max_backoff_s=settings.ops.restart_max_s,
            stale_after_s=settings.ops.worker_stale_s,
            drain_timeout_s=settings.ops.shutdown_timeout_s,
            on_heartbeat=self.metrics.heartbeat,
            on_state=self.metrics.component_up,
        )
        self._instance: InstanceLock | None = None
        self._undo: list[Callable[[], None]] = []
        self._stream, self._typical, self.symbols = feed_of(settings)
        self._candles: Iterator[Candle] | None = None
        self._cursor = 0
        self._feed_seen: dict[str, tuple[int, int]] = {}

    # -- start and stop -----------------------------------------------------------------------

    def _check_symbols(self) -> None:
        wanted = {s for a in self.settings.accounts for s in a.symbols}
        missing = wanted - set(self.symbols)
        if missing:
            raise ConfigError(
                "Accounts trade " + ", ".join(sorted(missing)) + " but the feed does not carry "
                "it; add it to 'feed.symbols'."
            )

    async def open(self) -> None:
        settings = self.settings
        check_trading_mode(settings)  # before any lock, file or exchange call
        self._check_symbols()
        url = settings.store.url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._instance = acquire_instance_lock(url)
        metrics = self.metrics
        ccxt = settings.venue.kind == "ccxt"
        if ccxt:
            instruments = await load_instruments(settings, self.symbols)
        else:
            instruments = instruments_for(self.symbols, self._typical)
        label = self.venue_label
        self.session = session = TradingSession(
            settings,
            self.clock,
            instruments,
            db_url=url,
            checkpoint_name="run",
            accounts=list(settings.accounts),
            checkpoint_every=settings.store.checkpoint_every,
            wrap_venue=lambda venue: instrument_venue(venue, metrics, label, count_calls=not ccxt),
            on_call=self.reconnects,
        )
        if ccxt:
            await session.venue.load(self.symbols)  # type: ignore[attr-defined]
        session.llm_metrics = metrics.llm
        self._cursor = await session.open()
        start = business_start(settings, session.resumed_at, self._stream)
        if start is not None:
            self.clock.set(max(self.clock.now_ms(), start))
        # Engines an operator started through the API come back before the checkpoint loads.
        await restore_operator_accounts(session)
        await restore_investor_accounts(session)
        self.rollout = await start_rollout(self)
        self._undo.append(instrument_database(session.db, metrics))
        self._undo.append(install_log_counter(metrics))
        session.bus.subscribe(metrics.on_event)
        # Money that moved outside Rampart (hand trades found by reconciliation) is told.
        self.notices = MoneyNotices(lambda: self.messenger)
        session.bus.subscribe(self.notices)
        session.on_store = metrics.database_up  # a failed write is the database down, at once
        engine = session.engine
        self.health.add("database", database_probe(session.db))
        self.health.add("venue", venue_probe(session.venue))
        self.health.add("feed", feed_probe(engine, self.ops_clock, self.feed_bound_s()))
        self.health.add("workers", self.supervisor.probe)
        if settings.feed.kind == "ccxt":
            self.exchange_loop = ExchangeLoop(
                self, self._feed_clock or WallClock(), self.reconnects
            )
        # A ccxt venue fed by another feed is reconciled by a component of its own.
        self.reconcile_loop = reconcile_loop(self)
        if settings.alerts.enabled:
            self.alerts = build_alerting(
                settings, session.db, metrics, self.ops_clock, stamp=self.business
            )
        self.uptime = ServiceTimeRecorder(session.db, feed_is_simulated(settings))
        self.uptime.start(self.business.now_ms())
        self.scheduler = Scheduler(session.db, self.business)
        register_jobs(self)
        ctx = ApiContext.build(
            settings,
            session,
            self.ops_clock,
            self.health,
            metrics,
            business=self.business,
            feed_symbols=self.symbols,
            alerts=self.alerts,
            lock=self.lock,
        )
        ctx.rollout = self.rollout
        if settings.api.enabled:
            self.api = ApiServer(create_app(ctx), settings.api.host, settings.api.port)
            self.api.bind()
        if settings.telegram_token is not None:
            self.bot = build_bot(
                settings,
                session,
                ctx.operator,
                self.lock,
                clock=self.business,
                pace=self.ops_clock,
                health=self.health,
                base_url=settings.telegram.api_url,
            )
            self.messenger = self.bot
            if self.alerts is not None:
                self.alerts.notifier.add(self.bot.notifier())

    async def save_now(self) -> None:
        """Write what the engine booked since the last checkpoint (before a report or a gate
        reads the store)."""
        session = self.session
        if session is None:
            return
        async with self.lock:
            await session.checkpoint_off_loop()

    def feed_bound_s(self) -> float:
        feed = self.settings.feed
        interval_s = timeframe_ms(feed.timeframe) / 1000 / feed.speed
        return max(MIN_FEED_BOUND_S, FEED_BOUND_CANDLES * interval_s)

    def take_cursor(self) -> int:
        """Candles already traded before this start (from the checkpoint), once."""
        cursor, self._cursor = self._cursor, 0
        return cursor

    async def aclose(self) -> None:
        venue = self.session.venue if self.session is not None else None
        closer = getattr(venue, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()
        self.close()

    def close(self) -> None:
        if self.uptime is not None:
            # Where business time stopped, for the commands run after (a simulated feed's
            # time does not move while the service is down).
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self.uptime.beat(self.business.now_ms(), self.ops_clock.now_ms())
        for undo in reversed(self._undo):
            with contextlib.suppress(Exception):
                undo()
        self._undo.clear()
        if self.session is not None:
            self.session.close()
        if self._instance is not None:
            self._instance.release()
            self._instance = None

    async def run(self) -> TradingSession:
        try:
            await self.open()
            assert self.session is not None
            self._supervise()
            if self._cursor:
                self.console.print(
                    f"Resuming after {self._cursor:,} candles from {self.settings.store.url}."
                )
            if self.api is not None:
                self.console.print(
                    f"API on {self.api.url} (OpenAPI at {self.api.url}/docs, metrics at "
                    f"{self.api.url}/metrics)."
                )
            if self.install_signals:
                with StopSignals(self.stop):
                    await self.supervisor.run(self.stop)
            else:
                await self.supervisor.run(self.stop)
        finally:
            await self.aclose()
        session = self.session
        self.console.print(status_line(session.engine))
        self.console.print(
            f"Stopped cleanly after {self.state.processed:,} candles; state saved to "
            f"{self.settings.store.url}. Run again to resume."
        )
        return session

    def _supervise(self) -> None:
        sup = self.supervisor
        every = self.settings.ops.heartbeat_every_s
        if self.reconcile_loop is not None:
            # Added first, so that on a fresh start it reconciles before the first candle.
            sup.add("reconcile", self.reconcile_loop)
        sup.add("engine", self.exchange_loop or self._engine_loop)
        sup.add("health", self._health_loop)
        if self.api is not None:
            api = self.api
            sup.add("api", ticking(lambda beat: api.serve(self.stop, beat), self.ops_clock, every))
        if self.alerts is not None:
            alerts = self.alerts
            sup.add("alerts", lambda beat: alerts.run(self.stop, beat))
        if self.bot is not None:
            bot = self.bot
            sup.add("bot", lambda beat: bot.run(self.stop, beat))
            notices = self.notices
            if notices is not None:
                sup.add("notices", lambda beat: notices.run(self.stop, beat, every))
        if self.scheduler is not None and self.scheduler.jobs:
            scheduler = self.scheduler
            sup.add("scheduler", lambda beat: scheduler.run(self.stop, beat))

    # -- components ---------------------------------------------------------------------------

    def _next_candle(self) -> Candle | None:
        """The next candle to trade; a restarted loop resumes where the last one stopped."""
        session = self.session
        assert session is not None
        if self._candles is None:
            self._candles = self._stream()
            skip = 0
            while skip < self.state.index:
                # A stream restarted after a failure: the engine has seen these already.
                next(self._candles)
                skip += 1
            while self.state.index < self._cursor:
                session.warm(next(self._candles))
                self.state.index += 1
            if self._cursor:
                session.finish_resume()
                self._cursor = 0
        try:
            return next(self._candles)
        except StopIteration:
            return None

    async def _engine_loop(self, beat: Beat) -> None:
        session = self.session
        assert session is not None
        step_s = timeframe_ms(self.settings.feed.timeframe) / 1000 / self.settings.feed.speed
        live = Live(console=self.console, auto_refresh=False) if self.show else None
        last_ts: int | None = None
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        steps = 0
        if live is not None:
            live.start()
        try:
            while not self.stop.is_set():
                candle = self._next_candle()
                if candle is None:
                    self.state.finished = True
                    self.console.print("The feed has no more candles.")
                    self.stop.set()
                    break
                if last_ts is not None and candle.ts != last_ts:
                    # Paced to feed.speed on a fixed schedule, as a live feed would deliver:
                    # an engine slower than the feed falls behind, and that is the event lag.
                    steps += 1
                    due = t0 + steps * step_s
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop.wait(), max(due - loop.time(), 0))
                    if step_s >= MIN_PACED_STEP_S:
                        self.metrics.event_lag(max(int((loop.time() - due) / step_s), 0))
                    if self.stop.is_set():
                        self._candles = None  # the unprocessed candle is replayed on restart
                        break
                last_ts = candle.ts
                # Counted before trading it: a candle that fails half-way is not traded twice.
                self.state.index += 1
                started = time.perf_counter()
                async with self.lock:
                    self.clock.set(max(self.clock.now_ms(), candle.close_ts))
                    await session.process(candle)
                self.metrics.signal_latency(time.perf_counter() - started)
                self.state.processed += 1
                beat()
                self._refresh_view(live)
                self.after_candle()
        except BaseException:
            self._candles = None
            raise
        finally:
            if live is not None:
                live.stop()

    def after_candle(self) -> None:
        if self.max_candles is not None and self.state.processed >= self.max_candles:
            self.stop.set()

    def _refresh_view(self, live: Live | None) -> None:
        session = self.session
        assert session is not None
        wall = time.monotonic()
        if wall - self.state.last_view < VIEW_REFRESH_S:
            return
        self.state.last_view = wall
        if live is not None:
            live.update(render(session.engine, "Rampart · paper"), refresh=True)
        elif self.state.processed % 200 == 0:
            self.console.print(status_line(session.engine))

    async def _health_loop(self, beat: Beat) -> None:
        """Sample what the alert rules read: database up, feed staleness, workers, engine state."""
        every = self.settings.ops.heartbeat_every_s
        while not self.stop.is_set():
            await self.sample()
            beat()
            await sleep_unless_stopped(self.ops_clock, every, self.stop)

    async def sample(self) -> None:
        session = self.session
        assert session is not None
        ok, checks = await self.health.ready()
        by_name = {c.name: c for c in checks}
        database = by_name.get("database")
        if database is not None and not database.ok:
            session.store_unreachable(database.detail)
        # Down until a write lands again, even when a probe's SELECT 1 passes (a locked store).
        self.metrics.database_up((database is None or database.ok) and not session.store_down)
        engine = session.engine
        now = self.ops_clock.now_ms()
        business_now = self.business.now_ms()
        for symbol in engine.symbols():
            ts = engine.data_ts.get(symbol, 0)
            seen = self._feed_seen.get(symbol)
            if seen is None or seen[0] != ts:
                self._feed_seen[symbol] = (ts, now)
                age = 0.0
            else:
                age = (now - seen[1]) / 1000
            self.metrics.feed_staleness(symbol, age)
        self.metrics.sample_engine(engine)
        if self.uptime is not None:
            try:
                # Off the loop: a locked or unreachable database must not stall trading here.
                await asyncio.to_thread(self.uptime.beat, business_now, now)
            except sa.exc.SQLAlchemyError as err:
                # Not a crash of the sampler: database_up above already says the store is down.
                log.warning("uptime_beat_failed", error=type(err).__name__)
        self.supervisor.status()
        if not ok:
            log.info("not_ready", failing=[c.name for c in checks if not c.ok])


async def run_service(
    settings: Settings,
    console: Console,
    max_candles: int | None = None,
    view: bool | None = None,
) -> TradingSession:
    return await Service(settings, console, max_candles=max_candles, view=view).run()
