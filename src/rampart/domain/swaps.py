"""One attempt of one on-chain swap, as a DEX venue journals it before sending, and the
statuses an attempt ends in.

The domain's, not the venue's: the venue writes these records and the store keeps them, and
the store may not import a venue (docs/authors/architecture.md); the journal's Protocol and
its in-memory version stay with the venue (``venues/solana/journal.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
