"""The service's worker threads are all started with it (rampart.runtime.threads): a burst of
blocking work hours into a run finds its threads there and starts none, so no thread's stack
and C heap arena step the process's memory up mid-run."""

from __future__ import annotations

import asyncio
import threading

from rampart.runtime.threads import NAME, started_pool, with_started_threads


def _ours() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(NAME)}


def test_a_started_pool_has_every_thread_before_any_work() -> None:
    before = _ours()
    pool = started_pool(4)
    try:
        assert len(_ours() - before) == 4
    finally:
        pool.shutdown(wait=True)
    assert _ours() == before


def test_a_burst_of_blocking_work_mid_run_starts_no_thread() -> None:
    async def run() -> tuple[set[str], set[str], set[str]]:
        started = _ours()
        gate = threading.Barrier(3)  # three calls blocked at once, as a backlog's writes are
        ran = await asyncio.gather(
            *(
                asyncio.to_thread(lambda: (gate.wait(5), threading.current_thread().name)[1])
                for _ in range(3)
            )
        )
        return started, set(ran), _ours()

    before = _ours()
    started, ran, after = asyncio.run(with_started_threads(run(), size=3))
    assert len(started - before) == 3
    assert ran <= started - before  # the work ran on the threads started with the loop
    assert after == started  # and none was started for it
    assert _ours() == before  # asyncio.run's end shuts the pool down
