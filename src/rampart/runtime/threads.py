"""The service's worker threads, all started with it.

Blocking work (the store's writes, a backup, a report) leaves the event loop through
``asyncio.to_thread`` for the loop's default executor. asyncio's own starts its threads one at a
time, only when every thread it has is busy, and keeps them: a burst of blocking work hours into
a run (a backlog after a network cut, a report beside a backup) starts a new thread there, with
its stack and its own C heap arena, and the process's resident memory steps up for good. The
service starts every thread it will have at its start instead, so its memory is settled from
there and a step later is growth worth an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

THREADS = min(32, (os.cpu_count() or 1) + 4)
"""As many as asyncio's own default executor would start at most."""
START_WAIT_S = 5.0
"""How long each thread waits for the others at the start before it takes work anyway."""
NAME = "rampart-io"


def _arrive(gate: threading.Barrier) -> None:
    # Held until every thread has arrived: a submit finds no idle thread and starts a new one.
    with contextlib.suppress(threading.BrokenBarrierError):
        gate.wait(timeout=START_WAIT_S)


def started_pool(size: int = THREADS) -> ThreadPoolExecutor:
    """A thread pool of ``size`` threads, every one of them started before it returns."""
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=NAME)
    gate = threading.Barrier(size)
    for _ in range(size):
        pool.submit(_arrive, gate)
    return pool


async def with_started_threads(work: Awaitable[T], size: int = THREADS) -> T:
    """``work`` on an event loop whose default executor has all its threads started first (a
    long-running process's ``asyncio.run`` target: the service, a worker, a server, a feed)."""
    asyncio.get_running_loop().set_default_executor(started_pool(size))
    return await work


__all__ = ["NAME", "THREADS", "started_pool", "with_started_threads"]
