"""The alerts only the fleet as a whole can raise, run by the ``rampart serve`` holding the ops
lease (issue 34): no worker's own metrics can say that a shard has no worker, or that no
worker runs at all. Each evaluation reads the lease table and the workers' heartbeats from the
store into two gauges (``rampart_fleet_shards_unheld``, ``rampart_fleet_workers_live``) and
evaluates the rules that read them (``ShardsUnheld``, P1; ``NoWorkerRunning``, P0). The workers'
own rules (consumer lag, fenced writes) are Prometheus's, over each worker's metrics port."""

from __future__ import annotations

import asyncio
from typing import Any

from rampart.clock import Clock
from rampart.config import Settings
from rampart.observability.alerts.build import build_notifiers
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.overrides import rules_from_settings
from rampart.observability.metrics import Metrics
from rampart.store.leases import lease_table, worker_rows

FLEET_RULES = ("NoWorkerRunning", "ShardsUnheld")
SOURCE = "store"


def read_fleet(db: Any, metrics: Metrics, shards: int, lease_ms: int, now_ms: int) -> None:
    """Set the fleet's gauges from the store as it is now."""
    held = sum(1 for h in lease_table(db).values() if h.live(now_ms))
    live = sum(1 for w in worker_rows(db).values() if w.seen_ms > now_ms - lease_ms)
    metrics.scale.shards_unheld.labels(source=SOURCE).set(max(0, shards - held))
    metrics.scale.workers_live.labels(source=SOURCE).set(live)


def fleet_alerting(settings: Settings, db: Any, metrics: Metrics, clock: Clock) -> AlertEngine:
    """The alert engine with the fleet's rules (as the rules file tunes them) and the service's
    notifiers; incidents go to the store as ``rampart run``'s do."""
    rules = [r for r in rules_from_settings(settings) if r.name in FLEET_RULES]
    alerts = settings.alerts
    engine = AlertEngine(
        rules,
        metrics,
        db,
        clock,
        build_notifiers(alerts, clock),
        evaluate_every_s=alerts.evaluate_every_s,
        repeat_every_s=alerts.repeat_every_s,
        stamp=clock,
    )
    scale = settings.scale
    lease_ms = int(scale.lease_s * 1000)

    async def refresh() -> None:
        await asyncio.to_thread(read_fleet, db, metrics, scale.shards, lease_ms, clock.now_ms())

    engine.add_refresher(refresh)
    return engine


__all__ = ["FLEET_RULES", "fleet_alerting", "read_fleet"]
