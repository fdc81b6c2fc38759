"""What :meth:`rampart.wiring.service.Service.open` builds: every part of the running service,
and the order the supervisor starts them in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rampart.api.server import ApiServer
from rampart.clock import Clock
from rampart.loops.candle import CandleLoop
from rampart.loops.exchange import ExchangeLoop, FollowLoop, ReconcileLoop
from rampart.loops.health import HealthSampler
from rampart.loops.rpc_probe import RpcProbe
from rampart.notices.money_notices import MoneyNotices
from rampart.notices.outbox import Outbox
from rampart.observability.alerts.engine import AlertEngine
from rampart.rollout.controller import RolloutController
from rampart.runtime.scheduler import Scheduler
from rampart.runtime.supervisor import Component, RunFn, ticking
from rampart.store.service_clock import ServiceTimeRecorder
from rampart.telegram.bot import RampartBot
from rampart.wiring.session import TradingSession


@dataclass(frozen=True)
class Parts:
    """Everything :meth:`Service.open` built. Present or absent by configuration only (no API
    when ``api.enabled`` is false, no bot without a token, no alerts when disabled, a reconcile
    loop only for a ccxt venue on another feed), never "not built yet"."""

    session: TradingSession
    engine_loop: CandleLoop | ExchangeLoop
    health_loop: HealthSampler
    scheduler: Scheduler
    rollout: RolloutController
    uptime: ServiceTimeRecorder
    notices: MoneyNotices
    reconcile_loop: ReconcileLoop | None
    alerts: AlertEngine | None
    api: ApiServer | None
    bot: RampartBot | None
    outbox: Outbox | None = None
    """Investor notices (entries, exits, breakers…), present with the bot."""
    rpc_probe: RpcProbe | None = None
    """Health of the Solana RPC nodes (fail back to the primary), with a solana venue."""
    follow_loop: FollowLoop | None = None
    """Orders under way followed between candles, with a ccxt venue."""

    def components(
        self, stop: asyncio.Event, ops_clock: Clock, every_s: float
    ) -> list[tuple[str, Component | RunFn]]:
        """Every long-running part, in start order, for the supervisor."""
        found: list[tuple[str, Component | RunFn]] = []
        if self.reconcile_loop is not None:
            # First, so that on a fresh start it reconciles before the first candle.
            found.append(("reconcile", self.reconcile_loop))
        if self.rpc_probe is not None:
            found.append(("rpc-probe", self.rpc_probe))
        found.append(("engine", self.engine_loop))
        if self.follow_loop is not None:
            found.append(("follow", self.follow_loop))
        found.append(("health", self.health_loop))
        if self.api is not None:
            api = self.api
            serve: RunFn = lambda beat: api.serve(stop, beat)  # noqa: E731
            found.append(("api", ticking(serve, ops_clock, every_s)))
        if self.alerts is not None:
            found.append(("alerts", self.alerts))
        if self.bot is not None:
            found.append(("bot", self.bot))
            notices = self.notices
            found.append(("notices", lambda beat: notices.run(stop, beat, every_s)))
        if self.outbox is not None:
            outbox = self.outbox
            found.append(("outbox", lambda beat: outbox.run(stop, beat, every_s)))
        if self.scheduler.jobs:
            found.append(("scheduler", self.scheduler))
        return found
