"""Shards a worker is taking, each on a task of its own, and how soon each trades.

A lease round that waited for the shards it took, under the worker's lock, would let an
exchange's reconciliation of one shard hold the round (and with it the next renewal and the
next takes) for tens of seconds. So a round starts each take as a task and returns; the next
round skips a shard still being taken. The takes open
:data:`TAKE_CONCURRENCY` at a time, each within :data:`TAKE_DEADLINE_S`.

Each take is measured from its claim to its first decision (the first candle the taken shard's
engine trades), the time a failover's accounts really wait, and the unheld time before the
claim: ``rampart_shard_resume_seconds`` and ``rampart_shard_unheld_seconds``.

:class:`Rebalance` keeps giving back above the fair share from thrashing: a shard given back for
a peer with room that nobody but this worker took again within a lease means the peer is not
taking (still reading the market, another version's standby); rebalancing then pauses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.observability.scale_metrics import ScaleMetrics

log = structlog.get_logger("rampart.worker.takes")

TAKE_CONCURRENCY = 3
"""Shards a worker opens side by side. One at a time (against opening all
at once, where none of a frozen worker's five shards trades before all are open), a shard
taken with others waits up to 8.4 s behind their opens after a kill -9 under 4x CPU: an
open is mostly waiting on the exchange, and a few overlap without starving each other."""
TAKE_DEADLINE_S = 120.0
"""How long a shard's open may take (queue excluded) before it is given up and given back (a
take failed, which a deploy's gate counts): twenty leases of the default 6 s. Under 4x CPU a
take that booked what the exchange did while a stopped worker held the shard takes 40 s
(``bench/scale_overload.py``); one that never ends is a wedge, not a slow exchange."""
CHECK_DEADLINE_S = 60.0
"""How long the full pass that follows a take (:meth:`ShardTrader.check`) may take."""
REBALANCE_PAUSE_MS = 60_000
"""How long a worker keeps what it holds above its share after a shard it gave back came back
to it (no peer took it)."""


class Takeovers:
    def __init__(
        self, metrics: ScaleMetrics, clock: Clock, concurrency: int = TAKE_CONCURRENCY
    ) -> None:
        self.metrics = metrics
        self.clock = clock
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.claimed_ms: dict[int, int] = {}
        """Shards claimed that have not traded a candle yet: when each was claimed."""
        self.resumed: dict[int, float] = {}
        """Each shard's last claim-to-first-decision time in seconds (a bench reads it)."""
        self.opening = asyncio.Semaphore(concurrency)
        """Held while a shard of this worker opens: ``concurrency`` at a time, in the order
        the round started them (lease_open.take_shard)."""
        self.checks: dict[int, asyncio.Task[None]] = {}
        """The full passes that follow takes, under way, by shard (cancelled when the shard
        is lost or the worker stops)."""
        self.quiet = asyncio.Event()
        """Set while no shard is being taken or awaits its first decision: what the worker's
        interval reconciliation waits for (:mod:`rampart.fleet.worker_reconcile`)."""
        self.quiet.set()
        self.failed_ms: list[int] = []
        """When this worker's last takes failed (its row of them in the store: a deploy's
        gate counts the new version's, :func:`rampart.store.scale_state.take_failures`)."""

    def _told(self) -> None:
        if self.tasks or self.claimed_ms:
            self.quiet.clear()
        else:
            self.quiet.set()

    def claimed(self, shard: int, unheld_ms: int | None) -> None:
        self.claimed_ms[shard] = self.clock.now_ms()
        self._told()
        if unheld_ms is not None:
            self.metrics.unheld.observe(unheld_ms / 1000)
            log.info("shard_claimed", shard=shard, unheld_s=round(unheld_ms / 1000, 3))

    def decided(self, shard: int, candle_close_ms: int | None = None) -> None:
        """The shard's engine traded a candle: its first decision since the claim, if any.
        ``candle_close_ms``: that candle's close, logged as how far behind the ops clock it
        was (``candle_behind_s``): a worker behind on the market stream decides first on a
        candle that closed before the fault, and a chaos run counts the shard back only once
        a candle after the fault is traded."""
        claimed = self.claimed_ms.pop(shard, None)
        if claimed is None:
            return
        self._told()
        now = self.clock.now_ms()
        seconds = max(now - claimed, 0) / 1000
        self.resumed[shard] = seconds
        self.metrics.resume.observe(seconds)
        behind = None if candle_close_ms is None else round((now - candle_close_ms) / 1000, 3)
        log.info("shard_resumed", shard=shard, seconds=round(seconds, 3), candle_behind_s=behind)

    def forget(self, shard: int) -> None:
        """The shard was let go or never opened: no decision is coming."""
        self.claimed_ms.pop(shard, None)
        self._told()

    def taking(self, shard: int) -> bool:
        return shard in self.tasks

    def start(self, shard: int, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name=f"take-{shard}")
        self.tasks[shard] = task
        self._told()

        def done(_task: asyncio.Task[None]) -> None:
            if self.tasks.get(shard) is task:
                del self.tasks[shard]
            self._told()

        task.add_done_callback(done)

    def cancel(self, shard: int) -> bool:
        """Stop the take of ``shard`` under way (the shard was given back or taken by another
        worker meanwhile): its open would end refused by the lease check anyway, and until
        then it spends the CPU the worker's other takes wait for. The take lets go of what it
        opened (:func:`~rampart.fleet.lease_open.take_shard`)."""
        task = self.tasks.get(shard)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def check(self, shard: int, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (the full pass after ``shard``'s take) on a task of its own."""
        self.cancel_check(shard)
        task = asyncio.create_task(work, name=f"check-{shard}")
        self.checks[shard] = task

        def done(_task: asyncio.Task[None]) -> None:
            if self.checks.get(shard) is task:
                del self.checks[shard]

        task.add_done_callback(done)

    def cancel_check(self, shard: int) -> None:
        """The shard was lost: its pass would only hold its lock, which the drop waits for."""
        task = self.checks.get(shard)
        if task is not None:
            task.cancel()

    async def stop_checks(self) -> None:
        """Cancel the passes under way (stopping: the next holder reconciles at its take)."""
        tasks = list(self.checks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def settle(self) -> None:
        """Wait for every take under way (a test's round, or stopping)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks.values()), return_exceptions=True)


class Rebalance:
    """Whether a worker gives back above its share this round."""

    def __init__(self, clock: Clock, lease_ms: int, pause_ms: int = REBALANCE_PAUSE_MS) -> None:
        self.clock = clock
        self.lease_ms = lease_ms
        self.pause_ms = pause_ms
        self.given: dict[int, int] = {}
        """Shards given back for a peer, and when."""
        self.paused_until = 0

    @property
    def on(self) -> bool:
        return self.clock.now_ms() >= self.paused_until

    def gave(self, shards: Iterable[int]) -> None:
        now = self.clock.now_ms()
        self.given.update((s, now) for s in shards)

    def gained(self, shards: Iterable[int]) -> None:
        now = self.clock.now_ms()
        for shard in shards:
            at = self.given.pop(shard, None)
            if at is not None and now - at <= self.lease_ms:
                self.paused_until = now + self.pause_ms
                log.info("rebalance_paused", shard=shard, seconds=self.pause_ms / 1000)
        for shard, at in list(self.given.items()):
            if now - at > self.lease_ms:
                del self.given[shard]


__all__ = [
    "CHECK_DEADLINE_S",
    "REBALANCE_PAUSE_MS",
    "TAKE_CONCURRENCY",
    "TAKE_DEADLINE_S",
    "Rebalance",
    "Takeovers",
]
