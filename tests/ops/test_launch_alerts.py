"""The launch plans' alert levels in the running service: DatabaseDown pages within 5 s of the
first refused write on the injected clock and for a store failing on and off, and the
refreshers that feed MemoryGrowth and UptimeLow measure what GO/NO-GO measures."""

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
from tests.ops.alert_harness import START_MS, Harness


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


def _page_delay(failures: list[tuple[int, bool]]) -> tuple[int | None, Harness]:
    """Run the engine on a clock moved 1 s at a time; at each ``(ms, up)`` the store hook
    hears a write's outcome (the first at 1 s past an evaluation, the worst moment for an
    engine that waits for its next 5 s tick). Returns ms from the first refusal to the page."""
    clock = StepClock(START_MS)
    h = Harness(None, clock=clock)
    hook = store_state_hook(h.metrics, h.engine)

    async def scenario() -> int | None:
        stop = asyncio.Event()
        task = asyncio.create_task(h.engine.run(stop, lambda: None))
        await _settle()
        assert h.engine.evaluations == 1
        # A minute watched first: before that a fresh engine keeps a condition that reads
        # false pending (it cannot yet tell a quiet minute from one it did not see).
        for _ in range(61):
            clock.advance(1000)
            await _settle()
        start = clock.now_ms()
        refused_at, paged_at = None, None
        for _ in range(120):
            for at, up in failures:
                if clock.now_ms() - start == at:
                    hook(up)
                    if not up and refused_at is None:
                        refused_at = clock.now_ms()
            await _settle()
            if h.of("DatabaseDown", "firing"):
                paged_at = clock.now_ms()
                break
            clock.advance(1000)
        stop.set()
        await task
        return None if paged_at is None or refused_at is None else paged_at - refused_at

    return asyncio.run(scenario()), h


def test_database_down_pages_within_5_s_of_the_first_refused_write() -> None:
    """The hook wakes the engine, so the condition holds from the refusal and the page follows
    by the rule's 5 s ``for``: the notice then has 5 s more to leave within the launch plans'
    10 s P0 budget (a rule that waits 10 s leaves the webhooks 11-14 s after)."""
    # The refusal and its retry: one wake per outage, not per failure.
    took, h = _page_delay([(0, False), (0, False)])
    assert took is not None and took <= 5_000, took
    assert h.metrics.registry.get_sample_value("rampart_database_up") == 0


def test_a_store_failing_on_and_off_pages_database_down() -> None:
    """Each refused write is followed a second later by one that lands, so the gauge is never
    down for long: the third failure within a minute pages all the same."""
    flapping = [(at, up) for start in (0, 15_000, 30_000) for at, up in ((start, False),)]
    flapping += [(start + 1000, True) for start in (0, 15_000, 30_000)]
    took, h = _page_delay(flapping)
    assert took is not None and took <= 35_000, took
    assert h.metrics.registry.get_sample_value("rampart_database_up") == 1
    assert h.metrics.registry.get_sample_value("rampart_database_failures_total") == 3


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
