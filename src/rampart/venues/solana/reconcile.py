"""The venue's answers to reconciliation: orders and fills rebuilt from the swap journal (an
attempt still marked ``sent`` is looked up on chain, since it may have landed after a crash),
and balances read from chain."""

from __future__ import annotations

import dataclasses
from collections.abc import Container

from rampart.domain.errors import DataError
from rampart.domain.fills import Balance, Fill
from rampart.trading.ports import VenueOrder
from rampart.venues.solana import reading
from rampart.venues.solana.journal import FILLED, SENT, SwapJournal, SwapRecord
from rampart.venues.solana.markets import TOKEN_PROGRAMS, Market, from_base_units
from rampart.venues.solana.rpc import RpcPool

GAS = "SOL.gas"
"""The native lamports that pay network fees, apart from the wrapped SOL that is traded."""
LAMPORTS = 9


async def order_of(
    journal: SwapJournal, account_id: str, client_id: str, open_now: bool
) -> VenueOrder | None:
    recs = [r for r in await journal.for_client(client_id) if r.account_id == account_id]
    if not recs:
        return None
    return reading.venue_order(recs, open_now)


async def records(
    journal: SwapJournal, account_id: str, symbol: str, since_ms: int | None
) -> list[SwapRecord]:
    return [
        r
        for r in await journal.since(since_ms or 0)
        if r.account_id == account_id and r.symbol == symbol
    ]


async def recent_orders(
    journal: SwapJournal,
    account_id: str,
    symbol: str,
    since_ms: int | None,
    limit: int | None,
    open_ids: Container[str],
) -> list[VenueOrder]:
    by_client: dict[str, list[SwapRecord]] = {}
    for r in await records(journal, account_id, symbol, since_ms):
        by_client.setdefault(r.client_id, []).append(r)
    orders = [
        reading.venue_order(sorted(rs, key=lambda r: r.attempt), cid in open_ids)
        for cid, rs in by_client.items()
    ]
    orders.sort(key=lambda o: o.ts)
    return orders[-limit:] if limit else orders


async def fills(
    recs: list[SwapRecord],
    rpc: RpcPool,
    market: Market | None,
    commitment: str,
    limit: int | None,
) -> list[Fill]:
    """Filled attempts, plus sent ones the chain shows landed cleanly (``market`` is needed
    only when some are still sent), oldest first. The journal rows are left as they are."""
    out = [reading.fill_of(r, r.ts) for r in recs if r.status == FILLED]
    sent = [r for r in recs if r.status == SENT]
    if sent and market is not None:
        out.extend(await _landed(sent, rpc, market, commitment))
    out.sort(key=lambda f: f.ts)
    return out[-limit:] if limit else out


async def _landed(
    sent: list[SwapRecord], rpc: RpcPool, market: Market, commitment: str
) -> list[Fill]:
    out: list[Fill] = []
    statuses = await rpc.signature_statuses([r.signature for r in sent])
    for rec, status in zip(sent, statuses, strict=True):
        if status is None or status.get("err") is not None:
            continue
        if not reading.reached(status, commitment):
            continue
        tx = await rpc.transaction(rec.signature, commitment)
        if not isinstance(tx, dict) or not isinstance(tx.get("meta"), dict):
            continue
        copy = dataclasses.replace(rec)
        base, quote = reading.moved(tx["meta"], rec.wallet, market, rec.side)
        reading.fill_record(copy, market, base, quote, int(tx["meta"].get("fee") or 0))
        out.append(reading.fill_of(copy, copy.ts))
    return out


async def balances(
    rpc: RpcPool, owner: str, asset_of_mint: dict[str, str], commitment: str
) -> dict[str, Balance]:
    """Token balances by asset (classic SPL Token and Token-2022 accounts alike), and the gas
    tank's lamports under :data:`GAS`, at the commitment fills are reported at: a swap only
    processed is in neither the balances nor the fills, so reconciliation never sees one
    without the other."""
    out: dict[str, Balance] = {}
    config = {"encoding": "jsonParsed", "commitment": commitment}
    for program in TOKEN_PROGRAMS:  # a node lists one token program's accounts per call
        result = await rpc.call("getTokenAccountsByOwner", [owner, {"programId": program}, config])
        for asset, bal in reading.token_balances(result, asset_of_mint).items():
            held = out.setdefault(asset, Balance(asset))
            held.free += bal.free
    lamports = await rpc.call("getBalance", [owner, {"commitment": commitment}])
    value = lamports.get("value") if isinstance(lamports, dict) else None
    if not isinstance(value, int):
        raise DataError("The Solana node answered a balance without lamports.")
    out[GAS] = Balance(GAS, from_base_units(value, LAMPORTS))
    return out


__all__ = ["GAS", "LAMPORTS", "balances", "fills", "order_of", "recent_orders", "records"]
