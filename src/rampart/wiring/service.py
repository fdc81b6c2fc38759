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

import contextlib
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from rampart.api.app import create_app
from rampart.api.context import ApiContext
from rampart.api.server import ApiServer
from rampart.config import Settings
from rampart.domain.candles import timeframe_ms
from rampart.domain.errors import ConfigError
from rampart.fleet.order_streams import (
    feed_websocket_probe,
    order_stream_probe,
    start_order_streams,
)
from rampart.loops.exchange import ExchangeLoop, ReconcileLoop
from rampart.loops.health import HealthSampler, store_probe
from rampart.loops.terminal_view import status_line
from rampart.market.service_feed import closes_of
from rampart.notices.outbox import OutboxMessenger
from rampart.observability.alerts.build import build_alerting
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.anomaly_watch import AnomalyWatch
from rampart.observability.api_metrics import install_request_metrics
from rampart.observability.db_metrics import instrument_database
from rampart.observability.metrics import install_log_counter
from rampart.operator.control import Operator
from rampart.rollout.controller import RolloutController
from rampart.rollout.desk import serve_desk
from rampart.runtime.business_time import feed_is_simulated, uptime_grace_ms
from rampart.runtime.heap import give_back
from rampart.runtime.probes import feed_probe, venue_probe
from rampart.runtime.scheduler import Scheduler
from rampart.runtime.shutdown import STOP_DEADLINE_S, StopSignals
from rampart.store.instance_lock import acquire_instance_lock
from rampart.store.ops_records import StoredJobRuns
from rampart.store.service_clock import ServiceTimeRecorder
from rampart.telegram.bot import RampartBot, build_bot
from rampart.trading.bus import Topic
from rampart.wiring import service_loops as loops
from rampart.wiring.anomalies import watch_anomalies
from rampart.wiring.doctor import run_checks
from rampart.wiring.jobs import scheduled_jobs
from rampart.wiring.launch_watch import watch_launch
from rampart.wiring.notices import investor_outbox, money_notices
from rampart.wiring.parts import Parts
from rampart.wiring.service_session import open_session
from rampart.wiring.service_state import ServiceState
from rampart.wiring.session import TradingSession
from rampart.wiring.venue_kinds import check_trading_mode

FEED_BOUND_CANDLES = 3
"""The feed counts as stale after this many candle intervals (at the feed's speed) with none."""
MIN_FEED_BOUND_S = 60.0


class Service(ServiceState):
    # -- what open() built ----------------------------------------------------------------------

    @property
    def parts(self) -> Parts:
        if self._parts is None:
            raise RuntimeError("The service is not open: call open() or run() first.")
        return self._parts

    @property
    def session(self) -> TradingSession:
        return self.parts.session

    @property
    def scheduler(self) -> Scheduler:
        return self.parts.scheduler

    @property
    def rollout(self) -> RolloutController:
        return self.parts.rollout

    @property
    def alerts(self) -> AlertEngine | None:
        return self.parts.alerts

    @property
    def api(self) -> ApiServer | None:
        return self.parts.api

    @property
    def bot(self) -> RampartBot | None:
        return self.parts.bot

    @property
    def messenger(self) -> RampartBot | None:
        """Who rollout and reports tell: the Telegram bot when one runs."""
        return self.parts.bot

    @property
    def exchange_loop(self) -> ExchangeLoop | None:
        loop = self.parts.engine_loop
        return loop if isinstance(loop, ExchangeLoop) else None

    @property
    def reconcile_loop(self) -> ReconcileLoop | None:
        return self.parts.reconcile_loop

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
        """Build every component (the composition root). On failure, what was acquired so far
        is released by :meth:`close`."""
        settings = self.settings
        self._lock_store()
        session = await open_session(self)
        anomalies = self._instrument(session)
        await self._add_probes(session)
        alerts = self._alerting(session, anomalies)
        uptime = ServiceTimeRecorder(session.db, feed_is_simulated(settings))
        uptime.start(self.business.now_ms())
        # Where business time stopped, for the commands run after (a simulated feed's time
        # does not move while the service is down).
        self._undo.append(partial(self._last_beat, uptime))
        # The fronts are handed the facade over the session, never the session itself.
        operator = Operator(
            session,
            self.lock,
            feed_symbols=self.symbols,
            mode=settings.mode,
            business=self.business,
        )
        serve_desk(operator)
        ctx = ApiContext.build(
            settings,
            operator,
            self.ops_clock,
            self.health,
            self.metrics,
            alerts=alerts,
            business=self.business,
        )
        ctx.doctor = partial(run_checks, settings)  # the panel's Operations page runs it
        bot = self._build_bot(ctx, alerts)
        # Entries, exits, breakers, pauses… told to investors through a durable outbox.
        outbox = None if bot is None else investor_outbox(session, bot, self.ops_clock)
        # Money that moved outside Rampart (hand trades found by reconciliation): the investor
        # through the same outbox, the operator chat directly.
        notices = money_notices(session, bot, outbox)
        told = None if outbox is None else OutboxMessenger(outbox, lambda: bot)
        rollout = await self._start_rollout(session, bot, told)
        ctx.rollout = rollout
        scheduler = self._scheduler(session, rollout, bot)
        api = self._bind_api(ctx)
        self._parts = Parts(
            session=session,
            engine_loop=loops.engine_loop(self, session),
            health_loop=self._health_loop(session, uptime),
            scheduler=scheduler,
            rollout=rollout,
            uptime=uptime,
            notices=notices,
            reconcile_loop=loops.reconcile_loop(self, session),
            rpc_probe=loops.rpc_probe(self, session),
            follow_loop=loops.follow_loop(self, session),
            alerts=alerts,
            api=api,
            bot=bot,
            outbox=outbox,
        )
        self.opened.set()

    def _lock_store(self) -> None:
        """Refuse a wrong trading mode or feed, then hold the store's one-instance lock."""
        settings = self.settings
        check_trading_mode(settings)  # before any lock, file or exchange call
        self._check_symbols()
        url = settings.store.url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        instance = acquire_instance_lock(url)
        self._undo.append(instance.release)

    def _instrument(self, session: TradingSession) -> AnomalyWatch | None:
        """The metrics on the database, the log and the bus; the anomaly watch."""
        settings, metrics = self.settings, self.metrics
        self._undo.append(instrument_database(session.db, metrics, settings.store.slow_query_ms))
        self._undo.append(install_log_counter(metrics))
        session.bus.subscribe(metrics.on_event)
        session.bus.subscribe(metrics.launch.agents.on_event, topics={Topic.DECISIONS})
        session.bus.on_failure = metrics.bus.subscriber_failed
        anomalies = watch_anomalies(settings, session, metrics.registry)
        session.on_store = metrics.database_up  # a failed write is the database down, at once
        return anomalies

    async def _add_probes(self, session: TradingSession) -> None:
        """/health's probes; on an exchange venue, its order streams started."""
        settings, metrics = self.settings, self.metrics
        # Never a probe hung on a silent connection: slow while late, down after a while.
        self.health.add("database", store_probe(session, self.ops_clock))
        self.health.add("venue", venue_probe(session.venue))
        self.health.add("feed", feed_probe(session.engine, self.ops_clock, self.feed_bound_s()))
        self.health.add("workers", self.supervisor.probe)
        if settings.feed.kind == "ccxt":
            state = partial(getattr, metrics.launch, "websocket_now")
            self.health.add("feed websocket", feed_websocket_probe(state), required=False)
        if settings.venue.kind == "ccxt":
            streams = order_stream_probe(metrics.order_streams, settings.venue.use_order_stream)
            self.health.add("order streams", streams, required=False)
            await start_order_streams(session.venue, metrics.order_streams)  # stop: aclose
        self.health.components = self.supervisor.lines

    def _alerting(
        self, session: TradingSession, anomalies: AnomalyWatch | None
    ) -> AlertEngine | None:
        """The alert engine (None when alerts are off), and the launch watch's traces."""
        settings, metrics = self.settings, self.metrics
        alerts = (
            build_alerting(
                settings,
                session.db,
                metrics,
                self.ops_clock,
                stamp=self.business,
                ready=lambda: session.restored,
            )
            if settings.alerts.enabled
            else None
        )
        if alerts is not None:
            # The engine's state gauges (kill switch, halted accounts…) as they are at each
            # evaluation, not as the health sampler last saw them.
            alerts.add_refresher(partial(metrics.sample_engine, session.engine))
            if anomalies is not None:  # held anomalies lapse on the orders' clock
                alerts.add_refresher(lambda: anomalies.expire(self.business.now_ms()))
        watch_launch(settings, session, metrics, alerts, self.business)  # traces, refreshers
        return alerts

    async def _start_rollout(
        self, session: TradingSession, bot: RampartBot | None, told: OutboxMessenger | None
    ) -> RolloutController:
        """The rollout controller, started: the engine gets the stored stage."""
        settings = self.settings
        rollout = RolloutController(
            settings.rollout,
            session.db,
            self.business,
            engine=session.engine,
            lock=self.lock,
            # A stage change that limits an investor is a notice like the others.
            messenger=lambda: bot if told is None else told,
            uptime_grace_ms=uptime_grace_ms(settings),
            # Gates read the store: what the engine booked since the last checkpoint first.
            before_measure=self.save_now,
            closes=closes_of(settings, session.db),
        )
        # The engine gets the stored stage; accounts are brought inside it.
        await rollout.start()
        return rollout

    def _scheduler(
        self, session: TradingSession, rollout: RolloutController, bot: RampartBot | None
    ) -> Scheduler:
        """The scheduler with every scheduled job."""
        scheduler = Scheduler(StoredJobRuns(session.db), self.business, after_job=give_back)
        for job in scheduled_jobs(
            self.settings,
            session.db,
            business=self.business,
            rollout=rollout,
            messenger=lambda: bot,
            save_now=self.save_now,
            registry=self.metrics.registry,
        ):
            scheduler.add(job)
        return scheduler

    def _bind_api(self, ctx: ApiContext) -> ApiServer | None:
        """The HTTP API, its port bound (None when the API is off)."""
        if not self.settings.api.enabled:
            return None
        app = install_request_metrics(create_app(ctx), self.metrics.registry)  # per route
        api = ApiServer(app, self.settings.api.host, self.settings.api.port)
        api.bind()
        return api

    def _health_loop(self, session: TradingSession, uptime: ServiceTimeRecorder) -> HealthSampler:
        return HealthSampler(
            session,
            health=self.health,
            metrics=self.metrics,
            supervisor=self.supervisor,
            uptime=uptime,
            ops_clock=self.ops_clock,
            business=self.business,
            every_s=self.settings.ops.heartbeat_every_s,
            people=self.settings.people,
        )

    def _build_bot(self, ctx: ApiContext, alerts: AlertEngine | None) -> RampartBot | None:
        settings = self.settings
        if settings.telegram_token is None:
            return None
        bot = build_bot(
            settings,
            ctx.operator,
            self.lock,
            clock=self.business,
            pace=self.ops_clock,
            health=self.health,
            base_url=settings.telegram.api_url,
        )
        if alerts is not None:
            alerts.notifier.add(bot.notifier())
        return bot

    async def save_now(self) -> None:
        """Write what the engine booked since the last checkpoint (before a report or a gate
        reads the store)."""
        if self._parts is None:
            return
        async with self.lock:
            await self._parts.session.checkpoint_off_loop()

    def feed_bound_s(self) -> float:
        feed = self.settings.feed
        interval_s = timeframe_ms(feed.timeframe) / 1000 / feed.speed
        return max(MIN_FEED_BOUND_S, FEED_BOUND_CANDLES * interval_s)

    def _last_beat(self, uptime: ServiceTimeRecorder) -> None:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            uptime.beat(self.business.now_ms(), self.ops_clock.now_ms())

    async def aclose(self) -> None:
        # Every component is stopped by now (the supervisor's run has returned): each one
        # releases what it holds, and /health says disposed.
        with contextlib.suppress(Exception):
            await self.supervisor.dispose()
        if self._parts is not None:
            closer = getattr(self._parts.session.venue, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        self.close()

    def close(self) -> None:
        """Release what open() acquired, newest first; safe to call more than once."""
        while self._undo:
            undo = self._undo.pop()
            with contextlib.suppress(Exception):
                undo()

    async def run(self) -> TradingSession:
        with contextlib.ExitStack() as signals:  # the deadline holds over the close too
            try:
                await self.open()
                parts = self.parts
                self._supervise(parts)
                resumed = self.state.resume_at
                if resumed:
                    self.console.print(
                        f"Resuming after {resumed:,} candles from {self.settings.store.url}."
                    )
                if parts.api is not None:
                    url = parts.api.url
                    self.console.print(
                        f"API on {url} (OpenAPI at {url}/docs, metrics at {url}/metrics)."
                    )
                if self.install_signals:
                    # As the fleet's processes: a loop wedged on a call that never
                    # returns cannot hear the signal, so past the deadline the process ends by
                    # itself; what it had not saved is reconciled at the next start.
                    signals.enter_context(StopSignals(self.stop, deadline_s=STOP_DEADLINE_S))
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

    def _supervise(self, parts: Parts) -> None:
        every = self.settings.ops.heartbeat_every_s
        for name, component in parts.components(self.stop, self.ops_clock, every):
            self.supervisor.add(name, component)


async def run_service(
    settings: Settings,
    console: Console,
    max_candles: int | None = None,
    view: bool | None = None,
) -> TradingSession:
    return await Service(settings, console, max_candles=max_candles, view=view).run()
