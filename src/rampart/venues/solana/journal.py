"""The swap journal: every attempt of every swap, written BEFORE its transaction is sent, so a
crash between send and confirmation leaves the signature behind to be followed after a
restart. The store's table (``rampart.store.solana_swaps``) implements the same Protocol."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

SENT = "sent"
FILLED = "filled"
FAILED = "failed"
"""Landed with an error (slippage): the fee was paid, nothing was swapped."""
EXPIRED = "expired"
"""Never landed and its blockhash expired: it never will."""
REFUSED = "refused"
"""The node refused it at send time (bad signature, unknown blockhash)."""
STATUSES = (SENT, FILLED, FAILED, EXPIRED, REFUSED)


@dataclass(slots=True)
class SwapRecord:
    """One attempt of one swap. Amounts are Decimal in token units (not base units)."""

    client_id: str
    attempt: int
    account_id: str
    symbol: str
    side: str
    route: str
    signature: str
    last_valid_height: int
    in_mint: str
    out_mint: str
    quoted_in: Decimal
    quoted_out: Decimal
    status: str
    ts: int
    """UTC ms when the attempt was made."""
    filled_in: Decimal = Decimal(0)
    filled_out: Decimal = Decimal(0)
    platform_fee: Decimal = Decimal(0)
    """The route's platform fee (bags.fm's), in token units of ``platform_fee_mint``."""
    platform_fee_mint: str = ""
    """The mint the platform fee is taken in: one of the swap's two legs ("" without a fee)."""
    best_route: str = ""
    """The route with the best price when this one was chosen ("" before routes were
    compared per swap)."""
    route_cost: Decimal = Decimal(0)
    """Quote tokens the operator's route preference gave up against ``best_route``."""
    fee_lamports: int = 0
    err: str = ""
    wallet: str = ""
    """The wallet's public key (never a secret)."""


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
