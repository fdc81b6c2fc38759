"""bags.fm partner fees: what a partner config earned and claiming it.

bags.fm pays a partner on tokens launched with the partner's key — not a share of the swaps
Rampart makes through it — so these are read from bags.fm (``/fee-share/partner-config/stats``)
and claimed with the transactions it builds (``/fee-share/partner-config/claim-tx``), signed by
the partner wallet and sent in order, the last one last, as its SDK does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

from rampart.venues.solana.landing import land
from rampart.venues.solana.routes import BagsRoute
from rampart.venues.solana.rpc import RpcPool
from rampart.venues.solana.signing import Wallet

LAMPORTS = 9


@dataclass(frozen=True, slots=True)
class PartnerFees:
    claimed: Decimal
    """SOL already claimed."""
    unclaimed: Decimal
    """SOL earned and not claimed yet."""


async def partner_fees(route: BagsRoute, partner: str) -> PartnerFees:
    claimed, unclaimed = await route.partner_stats(partner)
    return PartnerFees(Decimal(claimed).scaleb(-LAMPORTS), Decimal(unclaimed).scaleb(-LAMPORTS))


async def claim_partner_fees(
    route: BagsRoute,
    rpc: RpcPool,
    wallet: Wallet,
    commitment: str,
    sleep: Callable[[float], Awaitable[None]],
    poll_s: float,
) -> list[str]:
    """Claim every unclaimed partner fee of ``wallet``; the signatures, in the order sent."""
    sent: list[str] = []
    claims = await route.partner_claims(wallet.address)
    for n, (unsigned, last_valid) in enumerate(claims, 1):
        what = f"Claim transaction {n} of {len(claims)}"
        signed = wallet.sign(unsigned)
        sent.append(await land(rpc, signed, last_valid, commitment, sleep, poll_s, what))
    return sent


__all__ = ["PartnerFees", "claim_partner_fees", "partner_fees"]
