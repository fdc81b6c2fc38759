"""An attempt is declared expired only once the chain is past its blockhash's last valid
height: at that very height it can still be included, and sending a new attempt then could
buy twice (mutant S2: ``height > last_valid_height`` made ``>=`` survived all of
tests/solana and the Solana soak).

The node here answers the two questions :func:`settle` asks (the block height, and the
attempt's status: not seen) at a height the test sets, as a node that has not seen the
transaction yet would.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from rampart.venues.solana.attempts import settle
from rampart.venues.solana.journal import EXPIRED, SENT, SwapRecord

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
LAST_VALID = 1_000

SENT_ATTEMPT = SwapRecord(
    client_id="b1",
    attempt=1,
    account_id="alice",
    symbol="SOL/USDC",
    side="buy",
    route="jupiter",
    signature="sig-b1-1",
    last_valid_height=LAST_VALID,
    in_mint=USDC,
    out_mint=SOL,
    quoted_in=Decimal("150"),
    quoted_out=Decimal("1"),
    status=SENT,
    ts=1_700_000_000_000,
)


class UnseenAt:
    """A node at ``height`` that has no status for the signature."""

    def __init__(self, height: int) -> None:
        self.height = height

    async def block_height(self) -> int:
        return self.height

    async def signature_statuses(self, signatures: list[str]) -> list[Any]:
        return [None for _ in signatures]


@pytest.mark.parametrize("height", [LAST_VALID - 5, LAST_VALID - 1, LAST_VALID])
def test_up_to_its_last_valid_height_an_unseen_attempt_may_still_land(height: int) -> None:
    rec = replace(SENT_ATTEMPT)
    outcome, _ = asyncio.run(settle(UnseenAt(height), rec, None, "confirmed"))  # type: ignore[arg-type]
    assert outcome == "pending" and rec.status == SENT


def test_past_its_last_valid_height_an_unseen_attempt_has_expired() -> None:
    rec = replace(SENT_ATTEMPT)
    outcome, _ = asyncio.run(settle(UnseenAt(LAST_VALID + 1), rec, None, "confirmed"))  # type: ignore[arg-type]
    assert outcome == "expired" and rec.status == EXPIRED
