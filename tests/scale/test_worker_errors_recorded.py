"""A worker's error lines reach the store under its name and version, from its lease keeper's
thread (never its event loop), for the deploy gates."""

from __future__ import annotations

import threading

import structlog
from prometheus_client import CollectorRegistry

from rampart.clock import SimClock
from rampart.fleet.lease_keeper import LeaseKeeper
from rampart.fleet.worker_errors import ErrorRecorder, registry_count
from rampart.observability.log_counter import install_log_counter
from rampart.observability.metrics import Metrics
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.store.scale_state import worker_errors

NOW = 10_000_000
GUARD_S = 60.0
"""Only so that a broken test fails instead of hanging."""


def test_the_error_lines_a_worker_logs_are_recorded_after_its_keepers_turn(db_url: str) -> None:
    db = open_database(db_url)
    metrics = Metrics(registry=CollectorRegistry())
    uninstall = install_log_counter(metrics)
    try:
        clock = SimClock(NOW)
        leases = ShardLeases(db, "green-1", clock, 6_000, version="v2")
        leases.ensure(2)
        keeper = LeaseKeeper(leases, 0.01, "green-1")
        count = registry_count(metrics.registry)
        recorder = ErrorRecorder(db, "green-1", "v2", count, clock)
        keeper.also.append(recorder.record)
        turned = threading.Event()
        keeper.also.append(turned.set)
        log = structlog.get_logger("test")
        for n in range(3):
            log.error("something_broke", n=n)
        assert count() == 3
        keeper.start()
        try:
            assert turned.wait(GUARD_S)
        finally:
            keeper.stop()
        assert worker_errors(db, NOW) == {"v2": 3}
        assert worker_errors(db, NOW + 1) == {"v2": 0}  # before the step began: not counted
        recorder.record()  # nothing new: nothing written
        assert worker_errors(db, NOW) == {"v2": 3}
    finally:
        uninstall()
        db.dispose()
