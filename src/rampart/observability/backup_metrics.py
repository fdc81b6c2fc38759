"""The scheduled backup's clock on ``/metrics`` (plan 004: a missed scheduled backup
alerts). ``rampart_backup_last_success_timestamp_seconds`` is the wall time of the last backup
this process wrote; ``rampart_backup_due_timestamp_seconds`` the time by which the next must
have been written (the last success, or the job's start, plus ``backup.every_hours`` plus an
hour's grace for the dump itself). BackupMissed fires once the due time has passed: the
schedule lives in the gauge, so the rule needs no copy of ``backup.every_hours``. Both are on
the wall clock, and exported only by a service whose business time is the wall clock (an
exchange feed): a simulated run is never paged for a backup.

Registered on first use in a registry: only a process that runs the backup job exports them.
"""

from __future__ import annotations

import threading
import time
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Gauge

LAST_SUCCESS = "rampart_backup_last_success_timestamp_seconds"
DUE = "rampart_backup_due_timestamp_seconds"
GRACE_S = 3600.0
"""A backup of a large store takes minutes; an hour past its slot is a missed one."""

_made: WeakKeyDictionary[CollectorRegistry, BackupMetrics] = WeakKeyDictionary()
_guard = threading.Lock()


class BackupMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.last_success = Gauge(
            LAST_SUCCESS, "Unix time of the last scheduled backup written.", registry=registry
        )
        self.due = Gauge(
            DUE,
            "Unix time by which the next scheduled backup must be written (BackupMissed).",
            registry=registry,
        )

    def scheduled(self, every_s: float, now_s: float | None = None) -> None:
        """The job started: the next backup is due one interval (and the grace) after
        ``now_s``, the last backup written (or now, when there was none)."""
        now = time.time() if now_s is None else now_s
        self.due.set(now + every_s + GRACE_S)

    def succeeded(self, every_s: float, now_s: float | None = None) -> None:
        now = time.time() if now_s is None else now_s
        self.last_success.set(now)
        self.due.set(now + every_s + GRACE_S)


def backup_metrics(registry: CollectorRegistry) -> BackupMetrics:
    """The registry's backup gauges, created the first time (a registry refuses a second)."""
    with _guard:
        made = _made.get(registry)
        if made is None:
            made = _made[registry] = BackupMetrics(registry)
        return made


__all__ = ["DUE", "GRACE_S", "LAST_SUCCESS", "BackupMetrics", "backup_metrics"]
