"""The launch plans' alert levels in the running service: DatabaseDown pages within 10 s of the
first refused write on the injected clock, and the refreshers that feed MemoryGrowth and
UptimeLow measure what GO/NO-GO measures."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path

import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.observability.launch_sampler import UptimeSampler, sample_memory, store_state_hook
from rampart.observability.metrics import Metrics
from rampart.store.db import open_database
from rampart.store.ops_records import UptimeRecorder
from tests.ops.alert_helpers import START_MS, Harness


class StepClock(SimClock):
    """Moved only by the test; a sleep's wake-up time is fixed when ``sleep`` is called."""

    def __init__(self, start_ms: int) -> None:
        super().__init__(start_ms)
        self._moved = asyncio.Event()

    def set(self, ms: int) -> None:
        super().set(ms)
        self._moved.set()

    def sleep(self, seconds: float) -> Coroutine[object, object, None]:
        return self._until(self.now_ms() + int(seconds * 1000))

    async def _until(self, target: int) -> None:
        while self.now_ms() < target:
            self._moved.clear()
            await self._moved.wait()
        await asyncio.sleep(0)


async def _settle() -> None:
    """Let every ready task run (no wall-clock wait: the tasks only wait on the clock)."""
    for _ in range(50):
        await asyncio.sleep(0)


def test_database_down_pages_within_10_s_of_the_first_refused_write() -> None:
    """The refusal lands 1 s after an evaluation, the worst moment for an engine that waits
    for its next 5 s tick (it would page 14 s after the refusal): the hook wakes it, so the
    condition holds from the refusal and the page follows by the rule's 10 s ``for``."""
    clock = StepClock(START_MS)
    h = Harness(None, clock=clock)
    hook = store_state_hook(h.metrics, h.engine)

    async def scenario() -> int | None:
        stop = asyncio.Event()
        task = asyncio.create_task(h.engine.run(stop, lambda: None))
        await _settle()
        assert h.engine.evaluations == 1
        clock.advance(1000)
        await _settle()
        refused_at = clock.now_ms()
        hook(False)  # the store writer's first refused write
        hook(False)  # and its retry: one wake per outage, not per failure
        paged_at = None
        for _ in range(30):
            await _settle()
            if h.of("DatabaseDown", "firing"):
                paged_at = clock.now_ms()
                break
            clock.advance(1000)
        stop.set()
        await task
        return None if paged_at is None else paged_at - refused_at

    took = asyncio.run(scenario())
    assert took is not None and took <= 10_000, took
    assert h.metrics.registry.get_sample_value("rampart_database_up") == 0


def test_memory_is_sampled_from_the_process() -> None:
    metrics = Metrics()
    sample_memory(metrics)
    value = metrics.registry.get_sample_value("rampart_memory_resident_bytes")
    assert value is not None and value > 1_000_000


def test_uptime_is_sampled_from_the_heartbeat_spans_as_go_nogo_counts_them(
    tmp_path: Path,
) -> None:
    db: sa.Engine = open_database(f"sqlite:///{tmp_path / 'up.db'}")
    clock = SimClock(START_MS)
    metrics = Metrics()
    sampler = UptimeSampler(db, metrics, clock, grace_ms=0, window_ms=1_000_000)

    def share() -> float | None:
        asyncio.run(sampler.sample())
        return metrics.registry.get_sample_value("rampart_uptime_ratio", {"window": "24h"})

    assert share() is None  # never started: no reading, not zero
    recorder = UptimeRecorder(db)
    recorder.start(clock.now_ms())
    clock.advance(999_000)
    recorder.beat(clock.now_ms())
    clock.advance(1_000)  # up 999 s of the 1,000 s since the first start
    assert share() == 0.999
    clock.advance(2_000_000)  # down for the whole window since
    assert share() == 0.0
    db.dispose()
