"""One attempt of a swap, apart from the venue's bookkeeping of orders: quoting every route at
once and keeping the one the tolerance rule picks, the journal row written before the send,
and what the chain says became of the attempt once sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal

import structlog

from rampart.domain.errors import RampartError, VenueError
from rampart.domain.orders import Side
from rampart.venues.solana import reading
from rampart.venues.solana.journal import EXPIRED, FAILED, SENT, SwapRecord
from rampart.venues.solana.markets import Market, Markets, from_base_units, to_base_units
from rampart.venues.solana.routes import Mode, Quote, Route, choose
from rampart.venues.solana.rpc import RpcPool

log = structlog.get_logger("rampart.venues.solana")

Outcome = Literal["pending", "expired", "slippage", "refused", "filled"]
"""``pending``: not known yet; the others end the attempt (and are the observer's words)."""


async def best_quote(
    routes: Mapping[str, Route],
    market: Market,
    side: Side,
    qty: Decimal,
    slippage_bps: int,
    tolerance_bps: int,
) -> Quote:
    """Every route asked at once: a buy is ExactOut of ``qty`` base, a sell ExactIn."""
    amount = to_base_units(qty, market.base_decimals)
    mode: Mode
    if side is Side.BUY:
        src, dst, mode = market.quote_mint, market.base_mint, "ExactOut"
    else:
        src, dst, mode = market.base_mint, market.quote_mint, "ExactIn"
    asked = list(routes.values())
    results = await asyncio.gather(
        *(r.quote(src, dst, amount, mode, slippage_bps) for r in asked), return_exceptions=True
    )
    quotes: list[Quote] = []
    problems: list[str] = []
    for route, result in zip(asked, results, strict=True):
        if isinstance(result, Quote):
            quotes.append(result)
        elif isinstance(result, RampartError):
            problems.append(result.message.rstrip("."))
        elif isinstance(result, Exception):
            log.warning("route_quote_failed", route=route.name, error=type(result).__name__)
            problems.append(f"{route.name} failed ({type(result).__name__})")
        else:
            raise result  # cancellation and the like
    if not quotes:
        raise VenueError(f"No route would quote this swap: {'; '.join(problems)}.", "no_quote")
    return choose(quotes, tolerance_bps)


def partner_fee_units(quote: Quote, platform_fee: int, partner_share: Decimal) -> int:
    """The operator's cut of bags.fm's platform fee in base units of the fee's mint: the agreed
    share, rounded down to the smallest unit (as the stand-in pays it). Jupiter pays none."""
    if quote.route != "bags" or platform_fee <= 0:
        return 0
    return int((Decimal(platform_fee) * partner_share).to_integral_value(ROUND_DOWN))


def new_record(
    *,
    client_id: str,
    attempt: int,
    account_id: str,
    symbol: str,
    side: Side,
    market: Market,
    quote: Quote,
    signature: str,
    last_valid_height: int,
    wallet: str,
    ts: int,
    partner_share: Decimal,
) -> SwapRecord:
    """The journal row of an attempt about to be sent (status ``sent``)."""
    buy = side is Side.BUY
    qd = market.quote_decimals
    in_dec, out_dec = (qd, market.base_decimals) if buy else (market.base_decimals, qd)
    fee_q = quote.platform_fee if quote.platform_fee_mint == market.quote_mint else 0
    return SwapRecord(
        client_id=client_id,
        attempt=attempt,
        account_id=account_id,
        symbol=symbol,
        side=side.value,
        route=quote.route,
        signature=signature,
        last_valid_height=last_valid_height,
        in_mint=quote.input_mint,
        out_mint=quote.output_mint,
        quoted_in=from_base_units(quote.in_amount, in_dec),
        quoted_out=from_base_units(quote.out_amount, out_dec),
        status=SENT,
        ts=ts,
        platform_fee=from_base_units(fee_q, qd),
        partner_fee=from_base_units(partner_fee_units(quote, fee_q, partner_share), qd),
        wallet=wallet,
    )


async def settle(
    rpc: RpcPool, rec: SwapRecord, markets: Markets, commitment: str
) -> tuple[Outcome, int | None]:
    """What became of a sent attempt, written into ``rec`` when it is known (status, error,
    network fee, amounts moved), and the landing block's time in UTC ms when the node gives it.

    An attempt that never shows up is ``expired`` once its blockhash has, never ``dropped``:
    a transaction an RPC node or leader dropped and one that was never included look the same
    from outside (a null status, history searched, until the blockhash runs out), and the
    stand-in's ``drop`` and ``expire`` faults are alike to a client too. The one case a chain
    could tell, a status seen on a fork that then vanishes, the stand-in cannot make (landed
    transactions never un-land there), so it is not told apart either."""
    height = await rpc.block_height()  # before the status: a null status read after this
    # height means the transaction had not landed by then, so past last_valid it never will
    [status] = await rpc.signature_statuses([rec.signature])
    if status is None:
        if height > rec.last_valid_height:
            rec.status, rec.err = EXPIRED, "its blockhash expired before it landed"
            return "expired", None
        return "pending", None
    if not reading.reached(status, commitment):
        return "pending", None
    tx = await rpc.transaction(rec.signature, commitment)
    if not isinstance(tx, dict) or not isinstance(tx.get("meta"), dict):
        return "pending", None  # a node not yet in step: asked again on the next check
    meta: dict[str, Any] = tx["meta"]
    rec.fee_lamports = int(meta.get("fee") or 0)
    err = status.get("err") or meta.get("err")
    if err is not None:
        slipped = reading.is_slippage(err)
        rec.status = FAILED
        rec.err = "price moved past the slippage limit" if slipped else json.dumps(err)
        return ("slippage" if slipped else "refused"), None
    m = markets.market(rec.symbol)
    base, quote = reading.moved(meta, rec.wallet, m, rec.side)
    reading.fill_record(rec, m, base, quote, rec.fee_lamports)
    block_time = tx.get("blockTime")
    return "filled", (int(block_time) * 1000 if isinstance(block_time, int) else None)


__all__ = ["Outcome", "best_quote", "new_record", "partner_fee_units", "settle"]
