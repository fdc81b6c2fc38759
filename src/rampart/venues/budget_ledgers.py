"""Where a request budget's windows are counted: one process's memory, or a store shared by
every worker on the address (:mod:`rampart.store.request_budget`) with the process's memory
standing in while the store does not answer.

A budget keeps one count per window *and lane* (:mod:`rampart.venues.budget_lanes`): every
method works on one row, so every spend stays one atomic step wherever the rows live.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, TypeVar

import structlog

log = structlog.get_logger("rampart.venues.budget")

T = TypeVar("T")
SHARED_DEADLINE_S = 1.0
"""The longest the event loop waits for the shared store's answer to one budget call."""


class Ledger(Protocol):
    """Where the windows' counts live; every method is one atomic step."""

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        """Add ``cost`` unless the total would pass ``ceiling``; the new total, or None."""
        ...

    def raise_to(self, key: str, start: int, used: float) -> float:
        """Raise the window's count to at least ``used``; the count after."""
        ...

    def used(self, key: str, start: int) -> float: ...

    def used_many(self, keys: Sequence[str], start: int) -> list[float]:
        """The counts of several rows of one window, read together (a lane's rows)."""
        ...


class MemoryLedger:
    """The windows of one process (the single-process default)."""

    KEEP = 256
    """Windows kept; the oldest half goes when there are more (old windows are never read)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], float] = {}

    def _prune(self) -> None:
        if len(self.counts) > self.KEEP:
            for k in sorted(self.counts, key=lambda k: k[1])[: len(self.counts) // 2]:
                del self.counts[k]

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        total = self.counts.get((key, start), 0.0) + cost
        if total > ceiling + 1e-9:
            return None
        self.counts[(key, start)] = total
        self._prune()
        return total

    def raise_to(self, key: str, start: int, used: float) -> float:
        total = max(self.counts.get((key, start), 0.0), used)
        self.counts[(key, start)] = total
        return total

    def used(self, key: str, start: int) -> float:
        return self.counts.get((key, start), 0.0)

    def used_many(self, keys: Sequence[str], start: int) -> list[float]:
        return [self.counts.get((key, start), 0.0) for key in keys]


class SharedLedger:
    """A ledger shared with other workers (the database's), going on in process while it
    fails: protective orders must not wait on the store, and each worker's own count still
    holds it back (the exchange's used-weight headers raise it to the address's count).

    Every call to the shared store has a deadline (``deadline_s``), and runs on a thread of the
    ledger's own: the budget is asked from the event loop (each request's spend, each answer's
    used-weight header), and a read on a database connection whose peer has gone silent can hold a
    worker's loop for many minutes. Past the deadline the call is left running, the
    process's own count answers, and until that call returns every later one is answered in
    process at once: a silent store costs the loop at most one deadline per hung call (the
    connection's own deadlines, :mod:`rampart.store.db`, end it within about 30 s)."""

    def __init__(self, shared: Ledger, deadline_s: float = SHARED_DEADLINE_S) -> None:
        self.shared = shared
        self.local = MemoryLedger()
        self.failing = False
        self.deadline_s = deadline_s
        self.hung = 0
        """Calls that outlived the deadline."""
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._inflight: Future[Any] | None = None

    def _failed(self, exc: BaseException) -> None:
        if not self.failing:
            self.failing = True
            log.warning("request_budget_shared_failed", error=type(exc).__name__)

    def _back(self) -> None:
        if self.failing:
            self.failing = False
            log.info("request_budget_shared_back")

    def _ask(self, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            return fallback()  # the store has not answered the last call yet
        self._inflight = None
        future: Future[T] = Future()
        self._start()
        self._calls.put((call, future))
        try:
            answer = future.result(timeout=self.deadline_s)
        except FutureTimeout as exc:
            self.hung += 1
            self._inflight = future
            self._failed(exc)
            return fallback()
        except Exception as exc:  # any failure of the shared store: count in process
            self._failed(exc)
            return fallback()
        self._back()
        return answer

    def _start(self) -> None:
        # A daemon thread: a call hung on a silent database never holds the process's exit.
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="request-budget", daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while True:
            call, future = self._calls.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # handed to the caller waiting on the future
                future.set_exception(exc)

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        return self._ask(
            lambda: self.shared.spend(key, start, cost, ceiling),
            lambda: self.local.spend(key, start, cost, ceiling),
        )

    def raise_to(self, key: str, start: int, used: float) -> float:
        return self._ask(
            lambda: self.shared.raise_to(key, start, used),
            lambda: self.local.raise_to(key, start, used),
        )

    def used(self, key: str, start: int) -> float:
        return self._ask(lambda: self.shared.used(key, start), lambda: self.local.used(key, start))

    def used_many(self, keys: Sequence[str], start: int) -> list[float]:
        return self._ask(
            lambda: self.shared.used_many(keys, start), lambda: self.local.used_many(keys, start)
        )


__all__ = ["Ledger", "MemoryLedger", "SharedLedger"]
