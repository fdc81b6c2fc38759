"""``rampart wallet partner-fees``: bags.fm partner fees of a stored wallet, and claiming them.

bags.fm pays a partner on the tokens launched with its partner key, not on the swaps Rampart
makes through it; the wallet that holds that key is stored like an account's (`rampart wallet
import`), and this reads what its partner config earned and, with ``--claim``, sends the claim
transactions bags.fm builds, signed by that wallet.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rampart.domain.errors import ConfigError, RampartError

console = Console(soft_wrap=True)


async def _run(settings: Any, keypair: Any, claim: bool) -> tuple[Any, list[str]]:
    import httpx

    from rampart.venues.solana.partner import claim_partner_fees, partner_fees
    from rampart.venues.solana.routes import BagsRoute
    from rampart.venues.solana.rpc import RpcPool
    from rampart.venues.solana.signing import Wallet

    cfg = settings.solana
    if cfg.bags_api_key is None:
        raise ConfigError("Partner fees are read from bags.fm: set 'solana.bags_api_key'.")
    wallet = Wallet(keypair)
    async with httpx.AsyncClient() as http:
        route = BagsRoute(cfg.bags_url, http, cfg.bags_api_key.get_secret_value())
        signatures: list[str] = []
        if claim:
            rpc = RpcPool(cfg.rpc_urls, client=http, timeout_s=cfg.request_timeout_s)
            signatures = await claim_partner_fees(
                route, rpc, wallet, cfg.commitment, asyncio.sleep, cfg.confirm_poll_s
            )
        return await partner_fees(route, wallet.address), signatures


def show_partner_fees(account: str, claim: bool, config: Path | None) -> None:
    from rampart.cli.common import recorded_now_ms
    from rampart.cli.tokens import _store
    from rampart.reports.revenue import PARTNER_FEES
    from rampart.security import wallets
    from rampart.store import ops_records

    with _store(config) as (settings, db, box):
        keypair = wallets.open_keypair(db, box, account)
        if keypair is None:
            raise RampartError(
                f"Account {account} has no Solana wallet; import the wallet that holds your "
                "bags.fm partner key with `rampart wallet import`."
            )
        fees, signatures = asyncio.run(_run(settings, keypair, claim))
        # The reading, for the weekly revenue review (what was earned between two readings).
        earned = fees.claimed + fees.unclaimed
        detail = {"wallet": str(keypair.pubkey()), "earned_sol": str(earned)}
        ops_records.record_event(db, PARTNER_FEES, recorded_now_ms(db), "cli", detail)
    table = Table(show_header=False)
    table.add_row("partner wallet", str(keypair.pubkey()))
    table.add_row("claimed (SOL)", f"{fees.claimed.normalize():f}")
    table.add_row("unclaimed (SOL)", f"{fees.unclaimed.normalize():f}")
    console.print(table)
    for signature in signatures:
        console.print(f"claimed in transaction {signature}", highlight=False)


__all__ = ["show_partner_fees"]
