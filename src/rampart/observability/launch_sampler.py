"""Refreshers the alert engine runs before each evaluation for the launch plans' rules: the
process's resident memory (MemoryGrowth) and the service's uptime over the last day
(UptimeLow), measured from the heartbeat spans exactly as GO/NO-GO's uptime gate measures a
window."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import psutil
import sqlalchemy as sa
import structlog

from rampart.clock import Clock
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.metrics import Metrics
from rampart.store.ops_records import first_start, uptime

log = structlog.get_logger("rampart.alerts")

DAY_MS = 86_400_000


def sample_memory(metrics: Metrics) -> None:
    metrics.launch.memory_bytes.set(psutil.Process(os.getpid()).memory_info().rss)


def sample_pool(db: sa.Engine, metrics: Metrics) -> None:
    """The connection pool's state (a pool that keeps no count, SQLite's file pool for one,
    reports what it has and zero for the rest)."""
    pool = db.pool

    def count(name: str) -> int:
        method = getattr(pool, name, None)
        try:
            return int(method()) if callable(method) else 0
        except (TypeError, ValueError):
            return 0

    metrics.launch.pool_state(
        count("checkedout"), count("checkedin"), max(0, count("overflow")), count("size")
    )


def uptime_share(db: sa.Engine, start: int, end: int, grace_ms: int) -> float | None:
    """Share of ``[start, end)`` the service was up, counted from its first start when the
    window reaches back before it (nothing was there to be down); None before any start."""
    first = first_start(db)
    if first is None:
        return None
    # No span in the window after a first start: down all along, a reading of 0.
    return uptime(db, max(start, first), end, grace_ms=grace_ms).fraction


class UptimeSampler:
    """Sets ``rampart_uptime_ratio{window="24h"}`` on the business clock (the spans' axis)."""

    def __init__(
        self, db: sa.Engine, metrics: Metrics, clock: Clock, grace_ms: int, window_ms: int = DAY_MS
    ) -> None:
        self.db, self.metrics, self.clock = db, metrics, clock
        self.grace_ms, self.window_ms = grace_ms, window_ms

    async def sample(self) -> None:
        end = self.clock.now_ms()
        try:
            # Off the loop: a locked database must not stall the evaluation (DatabaseDown says it).
            share = await asyncio.to_thread(
                uptime_share, self.db, end - self.window_ms, end, self.grace_ms
            )
        except sa.exc.SQLAlchemyError as err:
            log.warning("uptime_sample_failed", error=type(err).__name__)
            return
        if share is not None:
            self.metrics.launch.uptime(share)


def store_state_hook(metrics: Metrics, alerts: AlertEngine | None) -> Callable[[bool], None]:
    """The session's ``on_store``: the gauge follows every write's outcome, every refused write
    is counted (a store failing on and off), the first refused write wakes the alert engine,
    so DatabaseDown's ``for`` starts at the refusal, and the engine is told each outcome: it
    tries no write of its own while the store refuses the service's."""
    state = {"up": True}

    def on_store(up: bool) -> None:
        metrics.database_up(up)
        if alerts is not None:
            alerts.store_answered(up)  # refused: the engine waits on no write of its own
        if not up:
            metrics.launch.db_failure()
            # Every failure after a success too: a flapping store's third strike pages now.
            if state["up"] and alerts is not None:
                alerts.wake()
        state["up"] = up

    return on_store


def clock_jump_hook(metrics: Metrics) -> Callable[[int], None]:
    """The wall clock's ``on_jump``: counted (ClockJump) and logged with its size."""

    def on_jump(step_ms: int) -> None:
        metrics.launch.clock_jump(step_ms)
        log.warning("clock_jump", step_ms=step_ms, detail="time goes on from the monotonic clock")

    return on_jump


__all__ = [
    "UptimeSampler",
    "clock_jump_hook",
    "sample_memory",
    "sample_pool",
    "store_state_hook",
    "uptime_share",
]
