"""The scheduler's jobs (reports, gates, backups), each built with exactly what it reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from rampart.backup.scheduled import backup_job
from rampart.backup.wallet_keys import wallet_keys_job
from rampart.clock import Clock, WallClock
from rampart.config import Settings
from rampart.observability.backup_metrics import BackupMetrics, backup_metrics
from rampart.reports import charts
from rampart.reports.jobs import report_jobs
from rampart.rollout.controller import RolloutController
from rampart.rollout.jobs import rollout_job
from rampart.runtime.business_time import feed_is_simulated
from rampart.runtime.messaging import Messenger
from rampart.runtime.scheduler import Job
from rampart.store.ops_records import BACKUP_CREATED, last_event
from rampart.wiring.backups import effective_config


def scheduled_jobs(
    settings: Settings,
    db: sa.Engine,
    *,
    business: Clock,
    rollout: RolloutController | None,
    messenger: Callable[[], Messenger | None],
    save_now: Callable[[], Awaitable[None]],
    registry: CollectorRegistry | None = None,
) -> list[Job]:
    jobs: list[Job] = []
    every_s = settings.backup.every_hours * 3600
    # The gauges exist only once a backup job does (a due time of 0 would page BackupMissed),
    # and only on a wall-clock service: a simulated run is never paged for a backup (its
    # due time on the 2024 clock would page Prometheus at once).
    made: list[BackupMetrics] = []
    wall = WallClock()

    def succeeded() -> None:
        for gauges in made:
            gauges.succeeded(every_s, wall.now_ms() / 1000)

    backup = backup_job(
        settings.backup,
        store_url=settings.store.url,
        master_key=settings.master_key,
        vault=settings.vault,
        db=db,
        business=business,
        config=effective_config(settings),
        on_success=succeeded,
        wall=wall,
    )
    if backup is not None:
        jobs.append(backup)
        if registry is not None and not feed_is_simulated(settings):
            made.append(backup_metrics(registry))
            # Due from the last backup written, not from this start: a service restarted
            # more often than every_hours would otherwise never find one missed.
            last = last_event(db, BACKUP_CREATED)
            since_ms = wall.now_ms() if last is None else min(last.ts, wall.now_ms())
            made[0].scheduled(every_s, since_ms / 1000)
    wallet_keys = wallet_keys_job(
        settings.backup,
        master_key=settings.master_key,
        vault=settings.vault,
        db=db,
        business=business,
    )
    if wallet_keys is not None:
        jobs.append(wallet_keys)
    jobs.extend(
        report_jobs(db, settings, business=business, messenger=messenger, save_now=save_now)
    )
    charts.warm_up_aside()  # the daily report's charts' memory: the service's from its start
    # Past one machine the server holding the ops lease runs this (its controller has no
    # engine: the workers apply the stage); a deploy's gates: rampart.rollout.deploy_watch.
    gates = None if rollout is None else rollout_job(rollout, settings.rollout.evaluate_every_s)
    if gates is not None:
        jobs.append(gates)
    return jobs
