"""Every alert rule, evaluated over the whole fleet by the ``rampart serve`` holding the ops
lease: the in-service engine of ``rampart run``, reading the fleet's metrics.

Before each evaluation the server reads from the store the lease table and the workers'
heartbeat rows: the fleet's own gauges (``rampart_fleet_shards_unheld``,
``rampart_fleet_workers_live``: ``ShardsUnheld`` P1, ``NoWorkerRunning`` P0, what no single
process's metrics can say), the fleet's uptime over 24 hours (``UptimeLow``, from the spans
:mod:`rampart.fleet.uptime` records) and where each worker serves its metrics. It
scrapes every worker side by side and merges what they answered with its own registry
(:class:`~rampart.observability.alerts.fleet.FleetMetrics`), so the same rules as ``rampart
run``'s read orders, errors, breakers, latency, consumer lag, fenced writes and the rest summed
over the workers, counter resets read per process. A worker that does not answer is its own
reading (``WorkerDown`` P1 at its second missed scrape in a row with no heartbeat in the store
since: a worker only slow to answer is not down; ``AllWorkersDown`` P0).
Memory growth is judged per process, each incident naming it. A worker that stopped on
purpose clears its address and is no longer watched; one that stopped without leaving (a
crash) is watched, and down, for :data:`FORGET_AFTER_MS` after its last heartbeat.

Incidents go to the store and to the notifiers (the log, the webhook, the operator chat through
the server's bot) as ``rampart run``'s do. The engine runs only while the lease is held; each
time it starts again it drops what it held in memory and takes the open incidents and pending
timers back from the store, so a lease that moves to another server (or comes back) carries the
same incidents on, without a twin or a second notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.domain.candles import timeframe_ms
from rampart.fleet.settings import FleetSettings
from rampart.observability.alerts.build import build_notifiers
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.fleet import PROCESS, FleetMetrics
from rampart.observability.alerts.growth import GrowthSignal
from rampart.observability.alerts.overrides import apply_overrides, load_overrides, load_rules
from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import AgeSignal, GaugeSignal
from rampart.observability.launch_sampler import UptimeSampler
from rampart.observability.metrics import Metrics
from rampart.observability.notify import Notifier
from rampart.observability.people_sampler import PeopleSampler
from rampart.observability.scale_metrics import CANDLE_TRADED
from rampart.runtime.probes import database_probe, patient
from rampart.store.errors import not_answering
from rampart.store.leases import lease_table
from rampart.store.people import operator_ids
from rampart.store.workers import Instance, worker_instances, worker_rows

log = structlog.get_logger("rampart.alerts.fleet")

SOURCE = "store"
TRADING_STOPPED = "TradingStopped"
PROBE_DEADLINE_S = 2.0
"""The longest an evaluation waits on the database probe."""
DOWN_AFTER_S = 10.0
"""A probe still unanswered this long is the database not answering (DatabaseDown), not slow."""
FORGET_AFTER_MS = 3_600_000
"""A worker that stopped without leaving (a crash) is down this long after its last heartbeat,
then no longer watched (one started again under its name is watched again at once)."""
PER_PROCESS = {
    "MemoryGrowth": "The resident memory of {process} grew by more than {threshold} in "
    "{window}: a leak runs it out of memory.",
}
"""Rules judged per process past one machine, with the summary naming it."""
FLEET_MIN = frozenset({"FeedDisconnected"})
"""Rules whose gauge the fleet judges by its freshest process (else ``FeedDisconnected``
fires while both feeds publish, read from one worker's stale view)."""
FLEET_SUMMARIES = {
    "WorkerDown": "Worker {component} has neither answered on its metrics address nor beaten in "
    "the store for more than {threshold} (crashed, wedged, or stopped without leaving).",
}


def read_fleet(db: Any, metrics: Metrics, shards: int, lease_ms: int, now_ms: int) -> None:
    """Set the fleet's gauges from the store as it is now."""
    held = sum(1 for h in lease_table(db).values() if h.live(now_ms))
    live = sum(1 for w in worker_rows(db).values() if w.seen_ms > now_ms - lease_ms)
    metrics.scale.shards_unheld.labels(source=SOURCE).set(max(0, shards - held))
    metrics.scale.workers_live.labels(source=SOURCE).set(live)


def fleet_targets(
    db: Any, now_ms: int, forget_ms: int = FORGET_AFTER_MS, seen: dict[str, int] | None = None
) -> dict[str, str]:
    """Worker → the URL of its metrics: those that serve them and have not left. ``seen`` is
    filled with each one's last heartbeat in the store.

    A worker is watched process by process, from each process's own heartbeat row: two
    processes running under one name (twins) are the name (the first started) and
    ``name@<id>`` (each later one), so the death of one is seen while the other beats the
    name's row. A process that stopped beating before another
    of its name started was restarted, not twinned: only the newer is watched. A worker whose
    processes write no row of their own (an older version) is watched by its name's row."""
    forget_before = now_ms - forget_ms
    processes: dict[str, list[Instance]] = {}
    for one in worker_instances(db, forget_before):
        processes.setdefault(one.name, []).append(one)
    found: dict[str, str] = {}
    beats: dict[str, int] = {}
    for name, row in worker_rows(db).items():
        own = processes.get(name, [])
        # Oldest first: the first process keeps the name (its series keep their label when a
        # twin appears), every later one is name@id.
        alive = sorted(
            (i for i in own if not any(o is not i and o.started_ms >= i.seen_ms for o in own)),
            key=lambda i: (i.started_ms, i.id),
        )
        if own:
            for rank, one in enumerate(alive):
                key = name if rank == 0 else f"{name}@{one.id[:8]}"
                if one.metrics_url:
                    found[key], beats[key] = one.metrics_url, one.seen_ms
        elif row.metrics_url and row.seen_ms > forget_before:
            found[name], beats[name] = row.metrics_url, row.seen_ms
    if seen is not None:
        seen.update(beats)
    return found


def worker_down_after_s(evaluate_every_s: float) -> float:
    """How long a worker may go unanswering before ``WorkerDown`` (at most 15 s).

    The server scrapes every worker once per evaluation, so a live worker's last answer is
    about 0 s old, or one evaluation old when a scrape missed (a worker busy for the 2 s
    timeout). One and a half evaluations calls a worker down at the second missed scrape in
    a row, not the first: a kill -9 is named two evaluations after it (10 s at the default
    ``alerts.evaluate_every_s`` of 5 s), where ``ops.worker_stale_s`` held 30 s took 81 s."""
    return 1.5 * evaluate_every_s


def fleet_rules(rules: Iterable[AlertRule], worker_down_s: float | None = None) -> list[AlertRule]:
    """The rules as the fleet reads them: per-process ones grouped by ``process``; with
    ``worker_down_s``, ``WorkerDown`` fires that long after a worker's last answer, at once
    (no hold: the missed scrapes are the hold)."""
    found = []
    for rule in rules:
        if rule.name in PER_PROCESS and isinstance(rule.signal, GrowthSignal):
            signal = replace(rule.signal, by=(PROCESS,))
            rule = replace(rule, signal=signal, summary=PER_PROCESS[rule.name])
        elif rule.name in FLEET_MIN and isinstance(rule.signal, GaugeSignal):
            # Every worker reads the market stream: one whose candles are stale (stuck, behind,
            # frozen) is its own problem, the feed is down only when none receives any.
            rule = replace(rule, signal=replace(rule.signal, agg="min"))
        elif rule.name in FLEET_SUMMARIES:
            rule = replace(rule, summary=FLEET_SUMMARIES[rule.name])
            if rule.name == "WorkerDown" and worker_down_s is not None:
                rule = replace(rule, threshold=worker_down_s, for_s=0)
        found.append(rule)
    return found


def candle_period_s(settings: FleetSettings) -> float:
    """How often a candle reaches the workers: the timeframe, over ``feed.speed`` for a
    simulated feed (an exchange's candles come at the timeframe whatever the speed)."""
    step = timeframe_ms(settings.feed.timeframe) / 1000
    return step / settings.feed.speed if settings.feed.simulated else step


def trading_stopped(period_s: float) -> AlertRule:
    """``TradingStopped`` (P0): no shard of the fleet traded a new candle for two candle
    periods (``period_s``) while workers report. Candles may still arrive (a market stream
    re-created under the workers hands them old ones), leases may all be held: what counts
    is that nothing trades. Silent until a first candle has been traded anywhere."""
    return AlertRule(
        TRADING_STOPPED,
        "P0",
        "No shard of the fleet has traded a new candle for more than {threshold} (two candle "
        "periods): every account is idle. Check the feed, NATS and its streams, and the "
        "workers' logs.",
        AgeSignal(CANDLE_TRADED, by=()),
        ">",
        2 * period_s,
        0,
        unit="s",
    )


def fleet_rule_set(settings: FleetSettings) -> list[AlertRule]:
    """The default rules as the fleet reads them, then the rules file's overrides (an operator
    who sets WorkerDown's threshold or hold gets theirs)."""
    defaults = load_rules(
        None,
        settings.ops.worker_stale_s,
        settings.rollout.latency_target_ms / 1000,
        settings.solana.route.share_alert(settings.venue.kind),
        settings.alerts.levels,
        settings.rollout.uptime_target,
    )
    rules = fleet_rules(defaults, worker_down_after_s(settings.alerts.evaluate_every_s))
    rules.append(trading_stopped(candle_period_s(settings)))
    path = settings.alerts.rules_file
    if path is None:
        return rules
    return apply_overrides(rules, load_overrides(path), f"Alert rules file {path}")


class FleetAlertEngine(AlertEngine):
    """The alert engine as the ops lease runs it: started afresh from the store each time."""

    fleet: FleetMetrics | None = None
    """The workers' metrics as last scraped."""

    async def run(self, stop: asyncio.Event, beat: Callable[[], None]) -> None:
        self.forget()  # another server may have opened or resolved incidents meanwhile
        await super().run(stop, beat)


def fleet_alerting(
    settings: FleetSettings,
    db: Any,
    metrics: Metrics,
    clock: Clock,
    *,
    name: str = "serve",
    notifiers: Iterable[Notifier] = (),
) -> FleetAlertEngine:
    """Every rule (as the rules file tunes them) over the fleet's metrics, with the service's
    notifiers and ``notifiers`` (the bot's); ``name`` is this server's, its series' ``process``
    label."""
    fleet = FleetMetrics(name, metrics.registry, clock)
    alerts = settings.alerts
    engine = FleetAlertEngine(
        fleet_rule_set(settings),
        metrics,
        db,
        clock,
        build_notifiers(alerts, clock, notifiers),
        evaluate_every_s=alerts.evaluate_every_s,
        repeat_every_s=alerts.repeat_every_s,
        stamp=clock,
        snapshot=fleet.snapshot,
        process_label=PROCESS,
    )
    engine.fleet = fleet
    scale = settings.scale
    lease_ms = int(scale.lease_s * 1000)
    # Never more than a probe's deadline of each evaluation spent on it; a database that answers
    # late is slow (DatabaseSlow), one that has not answered for DOWN_AFTER_S is down.
    probe = patient(database_probe(db, down=not_answering), clock, PROBE_DEADLINE_S, DOWN_AFTER_S)
    people = PeopleSampler(
        db,
        metrics.people,
        business=clock,
        ops=clock,
        sla_ms=settings.people.sla_ms(),
        every_s=settings.people.sample_every_s,
        operators=operator_ids(settings),
    )

    targets: dict[str, str] = {}

    async def database() -> None:
        check = await probe()
        metrics.database_up(check.ok or check.slow)

    async def leases() -> None:
        await asyncio.to_thread(read_fleet, db, metrics, scale.shards, lease_ms, clock.now_ms())

    async def scrape() -> None:
        nonlocal targets
        seen: dict[str, int] = {}
        try:
            targets = await asyncio.to_thread(fleet_targets, db, clock.now_ms(), seen=seen)
            fleet.seen_ms = seen
        except Exception as exc:  # the store away: the workers known last are still read
            log.warning("fleet_targets_unread", error=type(exc).__name__)
        await fleet.scrape(targets)

    # The fleet's uptime spans (rampart.fleet.uptime) as rampart run's own: UptimeLow.
    # Their time is the wall's past one machine, whatever the feed's speed: the grace is the
    # bound health calls a worker down by, unscaled.
    ops = settings.ops
    grace_ms = int(max(ops.heartbeat_every_s, ops.worker_stale_s) * 1000)
    uptime = UptimeSampler(db, metrics, clock, grace_ms)
    for refresher in (database, leases, scrape, people.sample, uptime.sample):
        engine.add_refresher(refresher)
    return engine


__all__ = [
    "FORGET_AFTER_MS",
    "TRADING_STOPPED",
    "FleetAlertEngine",
    "fleet_alerting",
    "fleet_rule_set",
    "fleet_rules",
    "fleet_targets",
    "read_fleet",
    "trading_stopped",
    "worker_down_after_s",
]
