"""What both soaks' step loops share (the ccxt soak's :mod:`.harness` and the Solana soak's
:mod:`.solana_harness`): counting the steps and holding simulated time to ``speed`` × wall
time, the candles kept to rebuild the agents' indicators after a restart, and how a
reconciliation, a crash and a check of the books are counted."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from rampart.domain.candles import Candle
from rampart.trading.reconcile.context import ReconcileReport
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.stats import SoakStats, rss_mb

Progress = Callable[[int, int, SoakStats], None]
"""Told after each step: steps done, steps in all, the figures so far."""

HISTORY = 300
"""Candles kept per symbol to rebuild the agents' indicators after a restart."""


class RecentCandles:
    """The last ``HISTORY`` candles of each symbol."""

    def __init__(self) -> None:
        self.by_symbol: dict[str, deque[Candle]] = {}

    def add(self, candle: Candle) -> None:
        self.by_symbol.setdefault(candle.symbol, deque(maxlen=HISTORY)).append(candle)

    def in_order(self) -> list[Candle]:
        """Every symbol's, oldest first: what a restarted engine warms up on."""
        return sorted((c for d in self.by_symbol.values() for c in d), key=lambda c: c.ts)


class StepRun:
    """A soak's steps: how many candles the duration makes; after each, the count, the
    memory baseline (at ``baseline_at`` of the run; ``baseline`` measures what the soak adds
    to it first), the progress callback, and simulated time held to ``speed`` × wall time."""

    def __init__(
        self,
        config: SoakConfig,
        tf_ms: int,
        stats: SoakStats,
        progress: Progress | None,
        baseline: Callable[[], None] | None = None,
    ) -> None:
        self.total = max(1, int(config.duration_s * 1000 // tf_ms))
        self.baseline_at = max(1, int(self.total * config.baseline_at))
        self.speed = config.speed
        self.tf_ms = tf_ms
        self.stats = stats
        self.progress = progress
        self.baseline = baseline
        stats.total_steps = self.total
        self.started = time.perf_counter()

    async def done(self, step: int) -> None:
        """Step ``step`` (from 0) is over."""
        stats, steps_done = self.stats, step + 1
        stats.steps = steps_done
        if steps_done == self.baseline_at:
            if self.baseline is not None:
                self.baseline()
            stats.rss_baseline_mb = rss_mb()
        if self.progress is not None:
            self.progress(steps_done, self.total, stats)
        ahead = steps_done * self.tf_ms / 1000 / self.speed - (time.perf_counter() - self.started)
        if ahead > 0:
            await asyncio.sleep(ahead)


def record_crash(stats: SoakStats, log: Any, what: str, exc: Exception) -> None:
    """Anything escaping engine work: a critical failure, recorded, not fatal to the soak
    (so the report still says what happened)."""
    stats.crashes.append(f"{what}: {type(exc).__name__}: {exc}")
    log.error("soak_crash", what=what, error=traceback.format_exc(limit=5))


def count_reconciliation(
    stats: SoakStats, reason: str, report: ReconcileReport | None, quiet: bool
) -> None:
    """A reconciliation that ran; one that found differences outside a quiet spell is
    counted apart (faults were on)."""
    if report is not None:
        stats.reconciliations[reason] += 1
        if not report.matches and not quiet:
            stats.reconcile_mismatch_under_faults += 1


def reconciliation_differences(report: ReconcileReport | None) -> list[str]:
    """The reconciliation's own verdict on the books, as differences."""
    if report is None:
        return ["the reconciliation failed"]
    if not report.matches:
        return [f"reconciliation: {d}" for d in report.differences]
    return []


def score(stats: SoakStats, differences: list[str]) -> None:
    """One exact check of the books: passed when nothing differs."""
    stats.checks += 1
    if differences:
        stats.failures.extend(differences[:5])
    else:
        stats.checks_passed += 1
