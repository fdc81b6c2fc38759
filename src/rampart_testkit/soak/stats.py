"""Constant-memory measurements for long runs: latency histograms and the process's RSS.

A 24-hour soak takes hundreds of thousands of latency samples; keeping them in a list would
itself grow the memory the soak is measuring. :class:`Latency` keeps counts in logarithmic
buckets (5 % wide) instead, so percentiles are exact to within 5 %, and the mean and maximum
are exact.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psutil

from rampart_testkit.soak.dirty import DirtyChecks
from rampart_testkit.soak.faults import FaultChecks
from rampart_testkit.soak.verify import Accounting, Protection

_BASE = 1.05
_FLOOR_S = 1e-6
_BUCKETS = int(math.log(1e8) / math.log(_BASE)) + 2
"""From one microsecond to 100 seconds."""


@dataclass
class Latency:
    counts: list[int] = field(default_factory=lambda: [0] * _BUCKETS)
    n: int = 0
    total: float = 0.0
    max: float = 0.0

    def add(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.n += 1
        self.total += seconds
        self.max = max(self.max, seconds)
        index = (
            0 if seconds <= _FLOOR_S else int(math.log(seconds / _FLOOR_S) / math.log(_BASE)) + 1
        )
        self.counts[min(index, _BUCKETS - 1)] += 1

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0–100), as the upper edge of its bucket (at most max)."""
        if self.n == 0:
            return 0.0
        rank = max(1, math.ceil(q / 100 * self.n))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                edge = _FLOOR_S * _BASE**index
                return min(edge, self.max)
        return self.max

    async def timed(self, work: Awaitable[None]) -> None:
        """Await ``work``, adding how long it took (whether it succeeded or raised)."""
        started = time.perf_counter()
        try:
            await work
        finally:
            self.add(time.perf_counter() - started)

    def summary_ms(self) -> dict[str, Any]:
        return {
            "count": self.n,
            "mean_ms": round(self.mean * 1000, 3),
            "p50_ms": round(self.percentile(50) * 1000, 3),
            "p95_ms": round(self.percentile(95) * 1000, 3),
            "p99_ms": round(self.percentile(99) * 1000, 3),
            "max_ms": round(self.max * 1000, 3),
        }


def resident_mb(pid: int | None = None) -> float:
    """A process's resident memory in MB as the system sees it, nothing collected first."""
    return float(psutil.Process(pid or os.getpid()).memory_info().rss) / 1e6


def rss_mb() -> float:
    """Resident memory in MB, measured after a full garbage collection and after asking the C
    allocator to give back the free pages it keeps (glibc ``malloc_trim``): what is counted is
    memory in use, so a leak shows and the allocator's cache of freed memory does not."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return resident_mb()


_LEAVES = (str, bytes, int, float, Decimal, bool, type(None))
_CONTAINERS = (dict, list, tuple, set, frozenset, deque)


def data_mb(root: object) -> float:
    """The size in MB of the data reachable from ``root`` through containers and Rampart's
    own objects (how much the in-process exchange simulator holds, to tell its memory from
    the engine's). Anything else (event loops, generators, sockets) is not followed."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, _LEAVES):
            total += sys.getsizeof(obj)
            continue
        if isinstance(obj, dict):
            total += sys.getsizeof(obj)
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, _CONTAINERS):
            total += sys.getsizeof(obj)
            stack.extend(obj)  # type: ignore[arg-type]
        elif type(obj).__module__.startswith(("rampart.", "rampart_testkit.")):
            total += sys.getsizeof(obj)
            if hasattr(obj, "__dict__"):
                stack.append(vars(obj))
            for name in getattr(type(obj), "__slots__", ()):
                if hasattr(obj, name):
                    stack.append(getattr(obj, name))
    return total / 1e6


@dataclass
class SoakStats:
    steps: int = 0
    total_steps: int = 0
    candles: int = 0
    crashes: list[str] = field(default_factory=list)
    interrupted: bool = False
    """Told to stop (SIGINT, SIGTERM) before its last candle."""
    restarts: int = 0
    reconciliations: Counter[str] = field(default_factory=Counter)
    reconcile_mismatch_under_faults: int = 0
    checks: int = 0
    checks_passed: int = 0
    checks_deferred: int = 0
    failures: list[str] = field(default_factory=list)
    final_differences: list[str] = field(default_factory=list)
    order_latency: Latency = field(default_factory=Latency)
    signal_latency: Latency = field(default_factory=Latency)
    rss_start_mb: float = 0.0
    rss_baseline_mb: float = 0.0
    rss_end_mb: float = 0.0
    sim_baseline_mb: float = 0.0
    """Data the in-process exchange simulator held at the baseline and at the end: not
    Rampart's memory, so it is taken out of the growth the criterion judges."""
    sim_end_mb: float = 0.0
    harness_baseline_mb: float = 0.0
    """The soak's own record of the run at the baseline and at the end (its ledger of orders
    and fills, the copy of it and of the engine's checkpoint a restart goes back to): harness
    data, not Rampart's memory, taken out of the growth as the simulator's is."""
    harness_end_mb: float = 0.0
    memory_sites: list[dict[str, Any]] = field(default_factory=list)
    """The allocation lines that grew most after the baseline (``memory_sites`` of the config)."""
    wall_s: float = 0.0
    sim_s: float = 0.0
    repairs_stored: int = 0
    reconnects: int = 0
    protection: Protection = field(default_factory=Protection)
    accounting: Accounting = field(default_factory=Accounting)
    fault_checks: FaultChecks = field(default_factory=FaultChecks)
    """The harness's own faults (reconcile race, hand close, database outage) and what each
    left behind."""
    dirty: DirtyChecks = field(default_factory=DirtyChecks)
    """Dirty faults: suspect prices and what they drove, clock steps, store flaps."""
    errors: Counter[str] = field(default_factory=Counter)
    faults_fired: Counter[str] = field(default_factory=Counter)
    episodes: Counter[str] = field(default_factory=Counter)
    repairs: Counter[str] = field(default_factory=Counter)
    violations: int = 0
    fills: int = 0
    orders: int = 0
