"""``rampart serve``: the HTTP API, the operator panel and the Telegram bot, without trading. Run
two or more behind a load balancer; each is ready on ``/health/ready`` when
its database and NATS answer and its mirror of the shards has been loaded.

Reads come from the mirror (:mod:`rampart.fleet.mirror`); every action on the trading accounts
goes through :class:`~rampart.operator.scaled.ScaledOperator` to the workers that own them, over
the command stream, and is audited once. A serve process also sends the command stream's
heartbeat, by which a worker knows commands can reach it.

The server holding the ops lease runs what must run once: the scheduler (reports, backups, the
rollout's gates, a stage it moves sent to every worker, a blue-green deploy's gates and its
automatic rollback), the fleet's alerts and uptime, and the
sending of investor notices, its own and those the workers wrote to the outbox table.

Records (orders, reports, incidents, audit entries) are stamped on the wall clock: past one
machine the workers trade an exchange's feed, whose time is the wall's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

import structlog
from rich.console import Console

from rampart.api.app import create_app
from rampart.api.context import ApiContext
from rampart.api.server import ApiServer
from rampart.clock import Clock, WallClock
from rampart.config import Settings
from rampart.fleet.alerts import fleet_alerting
from rampart.fleet.mirror import Mirror
from rampart.fleet.serve_duties import (
    Duty,
    hold_ops_lease,
    refresh_mirror,
    report_totals,
    send_heartbeats,
)
from rampart.fleet.tracing_hooks import carry_trace
from rampart.fleet.trading_probe import NAME as TRADING
from rampart.fleet.trading_probe import trading_probe
from rampart.fleet.uptime import FleetUptime
from rampart.market.service_feed import closes_of, feed_of
from rampart.messaging.commands import CommandSender
from rampart.messaging.nats_link import command_stream, connect
from rampart.notices.notify_prefs import NotifyPrefs
from rampart.notices.outbox import Outbox
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.api_metrics import install_request_metrics
from rampart.observability.messaging_metrics import watch_link
from rampart.observability.metrics import Metrics
from rampart.operator.fleet import Fleet
from rampart.operator.scaled import ScaledOperator
from rampart.rollout.controller import RolloutController
from rampart.rollout.deploy_watch import server_watch
from rampart.rollout.desk import serve_desk
from rampart.runtime.business_time import uptime_grace_ms
from rampart.runtime.health import Check, Health
from rampart.runtime.heap import give_back
from rampart.runtime.probes import database_probe
from rampart.runtime.scheduler import Scheduler
from rampart.runtime.shutdown import STOP_DEADLINE_S, StopSignals
from rampart.store.db import open_database
from rampart.store.errors import not_answering
from rampart.store.leases import ShardLeases
from rampart.store.ops_records import StoredJobRuns
from rampart.telegram.bot import RampartBot, build_bot
from rampart.wiring.fleet_parts import mirror_session
from rampart.wiring.jobs import scheduled_jobs
from rampart.wiring.notices import trades_normally
from rampart.wiring.session_rules import validate_accounts

log = structlog.get_logger("rampart.serve")


async def _nothing_to_save() -> None:
    """The workers write their checkpoints: a report reads what they last wrote."""


class Server:
    def __init__(
        self,
        settings: Settings,
        console: Console,
        *,
        ops_clock: Clock | None = None,
        install_signals: bool = True,
        scheduler: bool = True,
        version: str = "",
    ) -> None:
        validate_accounts(settings)
        self.version = version
        self.name = f"serve-{socket.gethostname()[:40]}-{settings.api.port}-{os.getpid()}"
        """The version this server runs, for a deploy step's gates on the API servers."""
        self.run_scheduler = scheduler
        """Run reports and backups while holding the ops lease."""
        self.settings = settings
        self.console = console
        self.ops_clock: Clock = ops_clock or WallClock()
        self.install_signals = install_signals
        self.stop = asyncio.Event()
        self.metrics = Metrics(venue="serve")
        self.health = Health()
        self.lock = asyncio.Lock()
        self.db: Any = None
        self.nc: Any = None
        self.mirror: Mirror | None = None
        self.api: ApiServer | None = None
        self.bot: RampartBot | None = None
        self.operator: ScaledOperator | None = None
        self.opened = asyncio.Event()
        self.ops_lease: ShardLeases | None = None
        self.scheduler: Scheduler | None = None
        self.alerts: AlertEngine | None = None
        """The fleet's alerts (:mod:`rampart.fleet.alerts`), run under the ops lease."""
        self.outbox: Outbox | None = None
        """Investor notices: every server saves what it is given (a support answer), and the
        one holding the ops lease sends them and what the workers wrote."""
        self.holds_ops = False
        self.fleet: Fleet | None = None
        self.rollout: RolloutController | None = None
        """The staged rollout: its gates evaluated by the scheduler under the ops lease, a
        stage it moves applied by the workers (a ``rollout`` command)."""
        self.uptime: FleetUptime | None = None

    async def open(self) -> None:
        settings, scale = self.settings, self.settings.scale
        self.db = await asyncio.to_thread(open_database, settings.store.url)
        self.nc = await connect(scale.nats_url, "rampart-serve")
        watch_link(self.metrics.registry, "server", lambda: self.nc)  # MessagingDown
        sender = CommandSender(
            self.nc,
            await command_stream(self.nc, scale.replicas),
            self.ops_clock,
            recreate=lambda: command_stream(self.nc, scale.replicas),  # a store lost
        )
        carry_trace(sender)  # a request's trace goes on to the workers' commands
        fan_out = self.metrics.scale.fan_out
        fleet = Fleet(
            self.db,
            sender,
            self.ops_clock,
            shards=scale.shards,
            ack_timeout_s=scale.ack_timeout_s,
            on_fan_out=lambda kind, s: fan_out.labels(kind=kind).observe(s),
        )
        self.fleet = fleet
        mirror = self.mirror = Mirror(
            mirror_session(settings, self.db, self.ops_clock), scale.shards
        )
        await mirror.open()
        _stream, _typical, symbols = feed_of(settings)
        operator = self.operator = ScaledOperator(
            mirror.session,
            self.lock,
            fleet=fleet,
            feed_symbols=symbols,
            mode=settings.mode,
            business=self.ops_clock,
        )
        serve_desk(operator)
        self.health.add("database", database_probe(self.db, down=not_answering))
        self.health.add("nats", self._nats_probe)
        self.health.add(TRADING, trading_probe(self.db))
        ctx = ApiContext(
            settings,
            self.ops_clock,
            self.health,
            self.metrics,
            self.lock,
            operator,
            business_clock=self.ops_clock,
        )
        if settings.api.enabled:
            app = install_request_metrics(create_app(ctx), self.metrics.registry)
            self.api = ApiServer(app, settings.api.host, settings.api.port)
            self.api.bind()
        token = settings.telegram_token
        if token is not None and token.get_secret_value():  # "" leaves this one without a bot
            self.bot = build_bot(
                settings,
                operator,
                self.lock,
                clock=self.ops_clock,
                pace=self.ops_clock,
                health=self.health,
                base_url=settings.telegram.api_url,
            )
            await self._build_outbox(self.bot)
        await self._build_scheduler()
        ctx.rollout = self.rollout
        self.opened.set()

    def _mirror_loaded_at(self, account_id: str) -> int | None:
        return None if self.mirror is None else self.mirror.loaded_at(account_id)

    async def _build_outbox(self, bot: RampartBot) -> None:
        prefs = await asyncio.to_thread(NotifyPrefs(self.db).load)
        # The mirror shows the kill switch and pauses at once (the operator's own actions);
        # a breaker's state arrives with the workers' checkpoints, later: judged once loaded.
        outbox = self.outbox = Outbox(
            self.db,
            self.ops_clock,
            lambda: bot,
            prefs,
            may_send=lambda: self.holds_ops,
            trades_normally=trades_normally(bot, self._mirror_loaded_at),
        )
        bot.notify_prefs = prefs
        bot.outbox = outbox
        bot.operator.tell_people(outbox.put, bot.tell_operators)

    async def _build_scheduler(self) -> None:
        """Reports and backups, run by the one server holding the ops lease."""
        scale = self.settings.scale
        self.ops_lease = ShardLeases(self.db, self.name, self.ops_clock, int(scale.lease_s * 1000))
        await asyncio.to_thread(self.ops_lease.ensure, 0, ops=True)
        self.scheduler = Scheduler(StoredJobRuns(self.db), self.ops_clock, after_job=give_back)
        bot = self.bot
        self.rollout = RolloutController(
            self.settings.rollout,
            self.db,
            self.ops_clock,
            messenger=lambda: bot,
            uptime_grace_ms=uptime_grace_ms(self.settings),
            closes=closes_of(self.settings, self.db),
            elsewhere=self._stage_to_workers,
        )
        self.uptime = FleetUptime(
            self.db, self.ops_clock, scale.shards, self.settings.ops.heartbeat_every_s
        )
        jobs = scheduled_jobs(
            self.settings,
            self.db,
            business=self.ops_clock,
            rollout=self.rollout,
            messenger=lambda: self.bot,
            save_now=_nothing_to_save,
        )
        for job in jobs:
            self.scheduler.add(job)
        # A running blue-green deploy's gates, rolled back here when they fail.
        self.scheduler.add(
            server_watch(
                self.settings.rollout,
                self.db,
                shards=scale.shards,
                lease_ms=int(scale.lease_s * 1000),
                now_ms=self.ops_clock.now_ms,
                registry=self.metrics.registry,
            )
        )
        if self.settings.alerts.enabled:
            told = [] if self.bot is None else [self.bot.notifier()]  # the operator chat
            self.alerts = fleet_alerting(
                self.settings, self.db, self.metrics, self.ops_clock, name=self.name, notifiers=told
            )

    async def _stage_to_workers(self) -> None:
        """Every worker brings its shards inside the stored stage (a stage moved here, or a
        scheduled evaluation making sure); one that does not answer gets it when it next
        reads the command stream, or takes a shard."""
        if self.fleet is None:
            return
        fan = await self.fleet.send("rollout", {"actor": "system", "reason": "rollout stage"})
        if not fan.complete:
            log.warning("rollout_stage_not_applied", why=fan.sentence())

    async def _ops(self) -> None:
        """Hold the ops lease while alive and run the ops duties under it (the scheduler, the
        fleet's alerts and uptime); another server takes them over when this one stops renewing."""
        lease_holder = self.ops_lease
        scheduler = self.scheduler
        if lease_holder is None or scheduler is None:
            return
        duties: list[Duty] = [scheduler.run] if self.run_scheduler and scheduler.jobs else []
        if self.alerts is not None:
            duties.append(self.alerts.run)
        if self.uptime is not None:
            duties.append(self.uptime.run)
        if not duties and self.outbox is None:
            return  # nothing needs the lease (the outbox sends while holding it)
        every = self.settings.scale.renew_every_s
        await hold_ops_lease(lease_holder, duties, self.stop, every, self._held)

    def _held(self, holds: bool) -> None:
        self.holds_ops = holds

    async def _report(self) -> None:
        """This server's running totals for a deploy step's gates on its version."""
        if not self.version or self.api is None:
            return
        await report_totals(
            self.db,
            self.name,
            self.version,
            health=self.health,
            registry=self.metrics.registry,
            clock=self.ops_clock,
            stop=self.stop,
            every_s=self.settings.scale.renew_every_s,
        )

    async def _nats_probe(self) -> Check:
        connected = self.nc is not None and bool(self.nc.is_connected)
        return Check("nats", connected, "connected" if connected else "NATS does not answer")

    async def _refresh(self) -> None:
        if self.mirror is not None:
            every = self.settings.scale.mirror_every_s
            await refresh_mirror(self.mirror, self.lock, every, self.stop)

    async def run(self) -> None:
        with contextlib.ExitStack() as signals:  # the deadline holds over the close too
            try:
                await self.open()
                if self.api is not None:
                    self.console.print(f"Serving the API on {self.api.url} (no trading here).")
                if self.install_signals:
                    signals.enter_context(StopSignals(self.stop, deadline_s=STOP_DEADLINE_S))
                await self._run_parts()
            finally:
                await self.aclose()

    async def _run_parts(self) -> None:
        tasks = [
            asyncio.create_task(
                send_heartbeats(self.nc, self.ops_clock, self.stop), name="heartbeat"
            ),
            asyncio.create_task(self._refresh(), name="mirror"),
            asyncio.create_task(self._ops(), name="ops"),
            asyncio.create_task(self._report(), name="report"),
        ]
        if self.api is not None:
            tasks.append(asyncio.create_task(self.api.serve(self.stop), name="api"))
        if self.bot is not None:
            bot = self.bot
            tasks.append(asyncio.create_task(bot.run(self.stop, lambda: None), name="bot"))
        if self.outbox is not None:
            every = self.settings.scale.renew_every_s
            sends = self.outbox.run(self.stop, lambda: None, every, collect_every_s=every)
            tasks.append(asyncio.create_task(sends, name="notices"))
        try:
            await self.stop.wait()
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        if self.mirror is not None:
            self.mirror.close()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        if self.db is not None:
            self.db.dispose()


__all__ = ["Server"]
