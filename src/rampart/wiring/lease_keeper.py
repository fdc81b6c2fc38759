"""A worker's leases renewed on a thread of their own (issue 54).

Renewing on the event loop tied a worker's leases to its trading: a busy loop (a takeover's
reconciliation, a burst of candles, a CPU-starved machine) left the renewal task waiting, and
leases ran out with no fault at all, heartbeats minutes old. :class:`LeaseKeeper` heartbeats
and renews every held lease every ``scale.renew_every_s / 2`` from a daemon thread, which the
interpreter schedules between the loop's bytecodes however long a coroutine runs without
awaiting.

It renews only: planning, taking and giving back stay with the worker's rounds on the loop.
Safety does not rest on it either: a lease it could not renew (the database away) runs out on
the clock and :meth:`ShardLeases.valid` turns false, so the trading side stops acting on the
shard; a shard another worker took is gone from the held leases at once (``valid`` false), and
the loop drops its trader at its next look (:meth:`take_lost`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from rampart.domain.errors import StoreError
from rampart.store.leases import ShardLeases

log = structlog.get_logger("rampart.worker.leases")


class LeaseKeeper:
    """Heartbeat and renew ``leases`` every ``every_s`` (wall time) on a thread."""

    def __init__(self, leases: ShardLeases, every_s: float, name: str = "") -> None:
        self.leases = leases
        self.every_s = every_s
        self.name = name
        self.renewals = 0
        """Renewals done (what a test waits on)."""
        self.failures = 0
        self.renewed_ms = leases.clock.now_ms()
        """When the leases were last renewed (ops clock): the lease age gauge."""
        self.on_renewed: Callable[[], None] | None = None
        """Called on the thread after each renewal (a test's wake-up)."""
        self._lost: set[int] = set()
        self._guard = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
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

    def tick(self) -> list[int]:
        """One renewal, now; the shards found taken by another worker."""
        try:
            lost = self.leases.keep()
        except StoreError as err:
            # The database is away: the leases run out on the clock (valid() turns false and
            # the shards stop trading) unless a later renewal gets through first.
            self.failures += 1
            log.error("renewal_failed", worker=self.name, error=err.message)
            return []
        with self._guard:
            self.renewed_ms = self.leases.clock.now_ms()
            self.renewals += 1
            self._lost.update(lost)
            self._guard.notify_all()
        if self.on_renewed is not None:
            self.on_renewed()
        return lost

    def take_lost(self) -> list[int]:
        """The shards found lost since the last call (the loop drops their traders)."""
        with self._guard:
            lost, self._lost = sorted(self._lost), set()
        return lost

    def wait_renewals(self, count: int, timeout_s: float) -> bool:
        """Block until ``count`` renewals were done; False past ``timeout_s`` (a hang guard)."""
        with self._guard:
            return self._guard.wait_for(lambda: self.renewals >= count, timeout_s)


__all__ = ["LeaseKeeper"]
