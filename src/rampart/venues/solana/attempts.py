"""One attempt of a swap, apart from the venue's bookkeeping of orders: the route it takes
(every route quoted and checked at once, :mod:`~rampart.venues.solana.choice`), the journal row
written before the send, and what the chain says became of the attempt once sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import structlog

from rampart.domain.orders import Side
from rampart.venues.solana import reading
from rampart.venues.solana.choice import Ask, Choice, choose_route
from rampart.venues.solana.journal import EXPIRED, FAILED, SENT, SwapRecord
from rampart.venues.solana.markets import Market, Markets, from_base_units, to_base_units
from rampart.venues.solana.routes import Quote, Route
from rampart.venues.solana.rpc import RpcPool

log = structlog.get_logger("rampart.venues.solana")
ZERO = Decimal(0)

Outcome = Literal["pending", "expired", "slippage", "refused", "filled"]
"""``pending``: not known yet; the others end the attempt (and are the observer's words)."""


async def route_choice(
    routes: Mapping[str, Route],
    market: Market,
    side: Side,
    qty: Decimal,
    slippage_bps: int,
    tolerance_bps: int,
    prefer: str | None = None,
    within_bps: int = 0,
) -> Choice:
    """Every route asked for ``qty`` base at once, each quote checked against it, and the one
    taken (:mod:`~rampart.venues.solana.choice`)."""
    ask = Ask(market, side, to_base_units(qty, market.base_decimals), slippage_bps, tolerance_bps)
    return await choose_route(routes, ask, prefer, within_bps)


async def best_quote(
    routes: Mapping[str, Route],
    market: Market,
    side: Side,
    qty: Decimal,
    slippage_bps: int,
    tolerance_bps: int,
) -> Quote:
    """The best-priced checked quote for ``qty`` base (no preference)."""
    return (await route_choice(routes, market, side, qty, slippage_bps, tolerance_bps)).quote


def fee_decimals(market: Market, mint: str) -> int:
    """Decimals of a fee's mint: bags.fm takes it on one of the swap's own legs."""
    return market.base_decimals if mint == market.base_mint else market.quote_decimals


def new_record(
    *,
    client_id: str,
    attempt: int,
    account_id: str,
    symbol: str,
    side: Side,
    market: Market,
    choice: Choice,
    signature: str,
    last_valid_height: int,
    wallet: str,
    ts: int,
) -> SwapRecord:
    """The journal row of an attempt about to be sent (status ``sent``)."""
    quote = choice.quote
    buy = side is Side.BUY
    qd = market.quote_decimals
    in_dec, out_dec = (qd, market.base_decimals) if buy else (market.base_decimals, qd)
    fee_mint = quote.platform_fee_mint if quote.platform_fee else ""
    fee = from_base_units(quote.platform_fee, fee_decimals(market, fee_mint)) if fee_mint else ZERO
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
        platform_fee=fee,
        platform_fee_mint=fee_mint,
        best_route=choice.best.route,
        route_cost=from_base_units(choice.cost, qd),
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


__all__ = ["Outcome", "best_quote", "fee_decimals", "new_record", "route_choice", "settle"]
