"""A worker's leases renewed on a thread of their own.

Renewing on the event loop tied a worker's leases to its trading: a busy loop (a takeover's
reconciliation, a burst of candles, a CPU-starved machine) left the renewal task waiting, and
leases ran out with no fault at all, heartbeats minutes old. :class:`LeaseKeeper` heartbeats
and renews every held lease every ``scale.renew_every_s / 2`` from a daemon thread, which the
interpreter schedules between the loop's bytecodes however long a coroutine runs without
awaiting.

It renews only while the worker's event loop turns: each renewal first posts a
call to the loop, and once the loop has run none for ``quiet_ms`` (a lease) the keeper
stops renewing, so a worker whose loop is wedged (a synchronous call to a silent database: one
waited 27 minutes while its thread kept four shards that nothing traded) lets its shards run
out and another worker takes them (within two leases of the loop's last turn). A loop that is
only slow (a takeover's reconciliation, a starved machine) still turns within a lease and keeps
its leases.

It renews only: planning, taking and giving back stay with the worker's rounds on the loop.
Safety does not rest on it either: a lease it could not renew (the database away) runs out on
the clock and :meth:`ShardLeases.valid` turns false, so the trading side stops acting on the
shard; a shard another worker took is gone from the held leases at once (``valid`` false), and
the loop drops its trader at its next look (:meth:`take_lost`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

import structlog

from rampart.domain.errors import StoreError
from rampart.store.leases import ShardLeases

log = structlog.get_logger("rampart.worker.leases")


class LeaseKeeper:
    """Heartbeat and renew ``leases`` every ``every_s`` (wall time) on a thread."""

    def __init__(
        self, leases: ShardLeases, every_s: float, name: str = "", quiet_ms: int | None = None
    ) -> None:
        """``quiet_ms``: how long (ops clock) the event loop that :meth:`start` runs on may go
        without turning before renewals stop; None: renew whatever the loop does."""
        self.leases = leases
        self.every_s = every_s
        self.name = name
        self.quiet_ms = quiet_ms
        self.loop_seen_ms = leases.clock.now_ms()
        """When the loop last ran a call the keeper posted (ops clock)."""
        self.ticks = 0
        """Turns of the thread, renewing or not (what a test waits on)."""
        self.skipped = 0
        """Turns that renewed nothing because the loop had not turned for ``quiet_ms``."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.renewals = 0
        """Renewals done (what a test waits on)."""
        self.failures = 0
        self.renewed_ms = leases.clock.now_ms()
        """When the leases were last renewed (ops clock): the lease age gauge."""
        self.on_renewed: Callable[[], None] | None = None
        """Called on the thread after each renewal (a test's wake-up)."""
        self.also: list[Callable[[], None]] = []
        """Called on the thread after each turn: the worker's other store writes that must
        never wait on the event loop (its error lines for the deploy gates)."""
        self._lost: set[int] = set()
        self._guard = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        with contextlib.suppress(RuntimeError):  # no loop running: renew whatever happens
            self._loop = asyncio.get_running_loop()
        self.loop_seen_ms = self.leases.clock.now_ms()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"lease-keeper-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.tick()
            for call in self.also:
                try:
                    call()
                except Exception as err:  # a failing extra never stops the renewals
                    log.warning("keeper_call_failed", worker=self.name, error=str(err))

    def _touch(self) -> None:
        self.loop_seen_ms = self.leases.clock.now_ms()

    def _loop_stuck(self) -> bool:
        """Whether the loop has run none of the keeper's calls for ``quiet_ms``; posts the
        next call (the following turn reads it)."""
        loop = self._loop
        if loop is None or self.quiet_ms is None:
            return False
        quiet = self.leases.clock.now_ms() - self.loop_seen_ms
        with contextlib.suppress(RuntimeError):  # the loop closed: the worker is stopping
            loop.call_soon_threadsafe(self._touch)
        return quiet > self.quiet_ms

    def _turned(self) -> None:
        with self._guard:
            self.ticks += 1
            self._guard.notify_all()

    def tick(self) -> list[int]:
        """One renewal, now, unless the loop is stuck; the shards found taken by another."""
        if self._loop_stuck():
            self.skipped += 1
            if self.skipped == 1 or self.skipped % 100 == 0:
                log.error("renewal_withheld", worker=self.name, why="the event loop is stuck")
            self._turned()
            return []
        try:
            lost = self.leases.keep()
        except StoreError as err:
            # The database is away: the leases run out on the clock (valid() turns false and
            # the shards stop trading) unless a later renewal gets through first.
            self.failures += 1
            log.error("renewal_failed", worker=self.name, error=err.message)
            self._turned()
            return []
        with self._guard:
            self.renewed_ms = self.leases.clock.now_ms()
            self.renewals += 1
            self._lost.update(lost)
            self.ticks += 1
            self._guard.notify_all()
        if self.on_renewed is not None:
            self.on_renewed()
        return lost

    def take_lost(self) -> list[int]:
        """The shards found lost since the last call (the loop drops their traders)."""
        with self._guard:
            lost, self._lost = sorted(self._lost), set()
        return lost

    def wait_ticks(self, count: int, timeout_s: float) -> bool:
        """Block until the thread has turned ``count`` times; False past ``timeout_s``."""
        with self._guard:
            return self._guard.wait_for(lambda: self.ticks >= count, timeout_s)

    def wait_renewals(self, count: int, timeout_s: float) -> bool:
        """Block until ``count`` renewals were done; False past ``timeout_s`` (a hang guard)."""
        with self._guard:
            return self._guard.wait_for(lambda: self.renewals >= count, timeout_s)


__all__ = ["LeaseKeeper"]
