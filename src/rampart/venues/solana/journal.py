"""The swap journal: every attempt of every swap, written BEFORE its transaction is sent, so a
crash between send and confirmation leaves the signature behind to be followed after a
restart. The store's table (``rampart.store.solana_swaps``) implements the same Protocol; the
record it keeps is the domain's (``rampart.domain.swaps``), which the store may import."""

from __future__ import annotations

import dataclasses
from typing import Protocol, runtime_checkable

# The record and its statuses are the domain's (domain/swaps.py), so that the store can keep
# them without importing this venue; they are named here too, for the venue's own modules.
from rampart.domain.swaps import (
    EXPIRED,
    FAILED,
    FILLED,
    REFUSED,
    SENT,
    STATUSES,
    SwapRecord,
)

__all__ = [
    "EXPIRED",
    "FAILED",
    "FILLED",
    "REFUSED",
    "SENT",
    "STATUSES",
    "MemoryJournal",
    "SwapJournal",
    "SwapRecord",
]


@runtime_checkable
class SwapJournal(Protocol):
    async def record(self, rec: SwapRecord) -> None:
        """Insert, or replace the one with the same (client_id, attempt)."""

    async def pending(self) -> list[SwapRecord]:
        """Attempts still ``sent`` (their outcome is not known yet), oldest first."""

    async def for_client(self, client_id: str) -> list[SwapRecord]:
        """Every attempt of one client order id, by attempt."""

    async def since(self, ts_ms: int) -> list[SwapRecord]:
        """Attempts made at or after ``ts_ms``, oldest first."""


class MemoryJournal:
    """The journal in memory (tests, paper runs); copies in and out so callers cannot alias."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], SwapRecord] = {}

    async def record(self, rec: SwapRecord) -> None:
        self._rows[(rec.client_id, rec.attempt)] = dataclasses.replace(rec)

    def _sorted(self, rows: list[SwapRecord]) -> list[SwapRecord]:
        return [dataclasses.replace(r) for r in sorted(rows, key=lambda r: (r.ts, r.attempt))]

    async def pending(self) -> list[SwapRecord]:
        return self._sorted([r for r in self._rows.values() if r.status == SENT])

    async def for_client(self, client_id: str) -> list[SwapRecord]:
        rows = [r for r in self._rows.values() if r.client_id == client_id]
        return [dataclasses.replace(r) for r in sorted(rows, key=lambda r: r.attempt)]

    async def since(self, ts_ms: int) -> list[SwapRecord]:
        return self._sorted([r for r in self._rows.values() if r.ts >= ts_ms])


__all__ = [
    "EXPIRED",
    "FAILED",
    "FILLED",
    "REFUSED",
    "SENT",
    "STATUSES",
    "MemoryJournal",
    "SwapJournal",
    "SwapRecord",
]
