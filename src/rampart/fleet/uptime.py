"""The service's uptime past one machine: the fleet is up while every shard is held
by a live worker.

``rampart run`` records its uptime span from its own heartbeat; past one machine no single
process trades everything, so the server holding the ops lease records it for the fleet: each
round it reads the lease table and stretches the span while every shard has a live holder, and
ends it when one has none (the next round with every shard held starts a new span, so the gap
is counted as down). The rollout's uptime gate, GO/NO-GO and the reports read these spans as
they read ``rampart run``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import sqlalchemy as sa
import structlog

from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.store.leases import lease_table
from rampart.store.ops_records import UptimeRecorder

log = structlog.get_logger("rampart.serve")


class FleetUptime:
    def __init__(self, db: sa.Engine, clock: Clock, shards: int, every_s: float) -> None:
        self.db = db
        self.clock = clock
        self.shards = shards
        self.every_s = every_s
        self.recorder = UptimeRecorder(db)

    def up(self, now: int) -> bool:
        """Every shard held by a worker whose lease is live at ``now``."""
        held = lease_table(self.db)
        return all(s in held and held[s].live(now) for s in range(self.shards))

    def round(self) -> bool:
        """One observation, recorded; whether the fleet was up (blocking: reads the store)."""
        now = self.clock.now_ms()
        if self.up(now):
            self.recorder.beat(now)
            return True
        self.recorder.span_id = None  # down: the next span starts when it is up again
        return False

    async def run(self, stop: asyncio.Event, beat: Callable[[], None]) -> None:
        """Record every ``every_s`` until ``stop`` (the ops lease was lost, or the server
        stops); the span of this holder ends there, and another holder starts its own."""
        try:
            while not stop.is_set():
                try:
                    await asyncio.to_thread(self.round)
                except (StoreError, sa.exc.SQLAlchemyError) as err:
                    self.recorder.span_id = None  # the store away: not recorded, down
                    log.warning("fleet_uptime_failed", error=f"{type(err).__name__}: {err}")
                beat()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every_s)
        finally:
            self.recorder.span_id = None


__all__ = ["FleetUptime"]
