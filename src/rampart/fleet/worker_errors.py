"""A worker's error lines, kept in the store under its name and version for the deploy gates: a
blue-green deploy is judged by the new version's own failures, and the
errors its workers log are one (:meth:`rampart.rollout.deploy.Deployer.check`).

The count is the worker's own ``rampart_log_errors_total`` (every error-level line, Rampart's
and its libraries'); :meth:`ErrorRecorder.record` runs on the lease keeper's thread after each
turn, never on the event loop, and writes only when the count grew.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.store.scale_state import record_worker_errors

log = structlog.get_logger("rampart.worker.errors")

LOG_ERRORS = "rampart_log_errors_total"


class ErrorRecorder:
    """Records the error lines ``count()`` says were logged since the last record."""

    def __init__(
        self, db: Any, worker: str, version: str, count: Callable[[], float], clock: Clock
    ) -> None:
        self.db = db
        self.worker = worker
        self.version = version
        self.count = count
        self.clock = clock
        self.recorded = int(count())
        self.seen: list[int] = []
        """The times recorded (the worker's own row: no other process writes it)."""

    def record(self) -> None:
        total = int(self.count())
        new = total - self.recorded
        if new <= 0:
            return
        seen = list(self.seen)
        try:
            record_worker_errors(self.db, self.worker, self.version, seen, new, self.clock.now_ms())
        except StoreError as err:  # the database away: counted at the next turn that writes
            log.warning("worker_errors_not_recorded", worker=self.worker, error=err.message)
            return
        self.seen, self.recorded = seen, total


def registry_count(registry: Any, name: str = LOG_ERRORS) -> Callable[[], float]:
    """Reads the counter ``name`` (its ``_total`` sample) off a Prometheus registry."""
    return lambda: float(registry.get_sample_value(name) or 0.0)


def record_errors(worker: Any) -> ErrorRecorder:
    """Record ``worker``'s error lines after each turn of its lease keeper (a
    :class:`rampart.fleet.worker.Worker` once open: its store, name, version, metrics, keeper)."""
    count = registry_count(worker.metrics.registry)
    recorder = ErrorRecorder(worker.db, worker.name, worker.version, count, worker.ops_clock)
    worker.keeper.also.append(recorder.record)
    return recorder


__all__ = ["ErrorRecorder", "record_errors", "registry_count"]
