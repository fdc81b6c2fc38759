"""Putting the Solana venue together (``venue.kind: solana``).

The venue is built with the settings' own keypairs (``solana.keypairs``); when the session's
store opens, the swap journal moves onto it (every attempt is recorded, committed, before its
transaction is sent, so a crash between send and confirm is resolved from it on restart) and
the configured accounts without a keypair in the settings get the wallet ``rampart wallet``
stored for them, opened with the master key. The metrics observer is the service's
:class:`~rampart.observability.solana_metrics.SolanaMetrics`; the loop that asks every RPC node
for its health is :class:`~rampart.loops.rpc_probe.RpcProbe`. The feed quotes the venue's own
routes (:func:`open_solana_feed`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rampart.clock import Clock
from rampart.market.solana_feed import SolanaFeed, StaleCallback
from rampart.observability.logging import register_secret
from rampart.observability.solana_metrics import SolanaMetrics

if TYPE_CHECKING:
    import sqlalchemy as sa

    from rampart.config import Settings
    from rampart.venues.solana.observe import SwapObserver
    from rampart.venues.solana.venue import SolanaVenue


def make_solana_venue(settings: Settings, clock: Clock) -> SolanaVenue:
    from rampart.venues.solana.venue import SolanaVenue

    for secret in settings.solana.keypairs.values():
        register_secret(secret.get_secret_value())
    return SolanaVenue(settings.solana, clock=clock)


def solana_venue_of(venue: Any) -> SolanaVenue | None:
    """The Solana venue behind ``venue`` (itself, or what a metrics wrapper wraps)."""
    # Not imported to ask: a paper session or replay must not load httpx and solders for it,
    # and if the module was never loaded no venue can be one of its instances.
    module = sys.modules.get("rampart.venues.solana.venue")
    if module is None:
        return None
    for candidate in (venue, getattr(venue, "wrapped", None)):
        if isinstance(candidate, module.SolanaVenue):
            return candidate
    return None


async def attach_store(
    venue: SolanaVenue, db: sa.Engine, settings: Settings, account_ids: Iterable[str]
) -> list[str]:
    """Journal on the store, and stored wallets for the accounts the settings give none.
    Returns the accounts that got a stored wallet."""
    from rampart.security.credential_store import load_credentials
    from rampart.security.secrets import key_configured, load_key_box
    from rampart.store.solana_swaps import StoreSwapJournal

    venue.journal = StoreSwapJournal(db)
    missing = [a for a in account_ids if venue.wallet_address(a) is None]
    if not missing or not key_configured(settings.master_key, settings.vault):
        return []
    box = load_key_box(settings.master_key, settings.vault)
    opened: list[str] = []
    for account_id in missing:
        creds = await asyncio.to_thread(load_credentials, db, box, account_id)
        if creds is None or creds.exchange != "solana":
            continue
        register_secret(creds.secret)
        await venue.connect_account(account_id, creds.api_key, creds.secret)
        opened.append(account_id)
    return opened


def observe(venue: SolanaVenue, observer: SwapObserver) -> None:
    """Report quotes, swaps, RPC calls and failovers to ``observer`` from now on (the service's
    metrics start the series of the venue's routes at zero)."""
    if isinstance(observer, SolanaMetrics):
        observer.prepare_routes(venue.routes)
    venue.observer = observer
    venue.rpc.observer = observer
    for route in venue.routes.values():
        route.observer = observer


def open_solana_feed(
    settings: Settings,
    venue: SolanaVenue,
    clock: Clock,
    symbols: Iterable[str],
    on_stale: StaleCallback | None = None,
) -> SolanaFeed:
    """Candles and price ticks from the venue's own quotes (``feed.kind: solana``)."""
    from rampart.venues.solana.prices import mid_price

    async def sample(symbol: str) -> Any:
        return await mid_price(venue, symbol)

    f = settings.feed
    return SolanaFeed(
        sample,
        symbols,
        clock=clock,
        timeframe=f.timeframe,
        poll_every_s=f.poll_every_s,
        stale_after_s=f.stale_after_s,
        on_stale=on_stale,
    )
