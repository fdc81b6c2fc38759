"""Where a request budget's windows are counted: one process's memory, or a store shared by
every worker on the address (:mod:`rampart.store.request_budget`) with the process's memory
standing in while the store does not answer.

A budget keeps one count per window *and lane* (:mod:`rampart.venues.budget_lanes`): every
method works on one row, so every spend stays one atomic step wherever the rows live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import structlog

log = structlog.get_logger("rampart.venues.budget")


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
    holds it back (the exchange's used-weight headers raise it to the address's count)."""

    def __init__(self, shared: Ledger) -> None:
        self.shared = shared
        self.local = MemoryLedger()
        self.failing = False

    def _failed(self, exc: Exception) -> None:
        if not self.failing:
            self.failing = True
            log.warning("request_budget_shared_failed", error=type(exc).__name__)

    def _back(self) -> None:
        if self.failing:
            self.failing = False
            log.info("request_budget_shared_back")

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        try:
            total = self.shared.spend(key, start, cost, ceiling)
        except Exception as exc:  # any failure of the shared store: count in process
            self._failed(exc)
            return self.local.spend(key, start, cost, ceiling)
        self._back()
        return total

    def raise_to(self, key: str, start: int, used: float) -> float:
        try:
            total = self.shared.raise_to(key, start, used)
        except Exception as exc:  # any failure of the shared store: count in process
            self._failed(exc)
            return self.local.raise_to(key, start, used)
        self._back()
        return total

    def used(self, key: str, start: int) -> float:
        try:
            return self.shared.used(key, start)
        except Exception as exc:  # any failure of the shared store: count in process
            self._failed(exc)
            return self.local.used(key, start)

    def used_many(self, keys: Sequence[str], start: int) -> list[float]:
        try:
            return self.shared.used_many(keys, start)
        except Exception as exc:  # any failure of the shared store: count in process
            self._failed(exc)
            return self.local.used_many(keys, start)


__all__ = ["Ledger", "MemoryLedger", "SharedLedger"]
