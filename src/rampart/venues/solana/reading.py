"""Reading the chain's answers and the journal: what a landed swap moved (from the owner's
pre/post token balances, the truth), the Fill it makes, orders rebuilt from journal rows, and
token balances by asset."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rampart.domain.errors import DataError
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.orders import OrderStatus, OrderType, Side
from rampart.trading.ports import VenueOrder
from rampart.venues.solana.journal import FILLED, SENT, SwapRecord
from rampart.venues.solana.markets import Market, from_base_units

LEVELS = {"processed": 0, "confirmed": 1, "finalized": 2}
ZERO = Decimal(0)
SLIPPAGE_ERROR = 6001


def reached(status: Mapping[str, Any], commitment: str) -> bool:
    level = LEVELS.get(str(status.get("confirmationStatus") or ""), -1)
    return level >= LEVELS[commitment]


def is_slippage(err: Any) -> bool:
    """Whether a landed transaction's error is the swap program's slippage check."""
    try:
        return int(err["InstructionError"][1]["Custom"]) == SLIPPAGE_ERROR
    except (KeyError, IndexError, TypeError, ValueError):
        return False


def _by_mint(rows: Any, owner: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows or []:
        if not isinstance(row, dict) or row.get("owner") != owner:
            continue
        mint = str(row.get("mint"))
        out[mint] = out.get(mint, 0) + int(row["uiTokenAmount"]["amount"])
    return out


def owner_deltas(meta: Mapping[str, Any], owner: str) -> dict[str, int]:
    """Base units each mint moved for ``owner`` (positive = received)."""
    try:
        pre = _by_mint(meta.get("preTokenBalances"), owner)
        post = _by_mint(meta.get("postTokenBalances"), owner)
    except (KeyError, TypeError, ValueError):
        raise DataError(
            "The Solana node answered a transaction with unreadable balances."
        ) from None
    return {m: post.get(m, 0) - pre.get(m, 0) for m in {*pre, *post}}


def moved(meta: Mapping[str, Any], owner: str, market: Market, side: str) -> tuple[int, int]:
    """(base, quote) base units moved by a swap of ``side``: the base bought and the quote
    spent for a buy, the base sold and the quote received for a sell."""
    deltas = owner_deltas(meta, owner)
    base, quote = deltas.get(market.base_mint, 0), deltas.get(market.quote_mint, 0)
    if side == Side.BUY.value:
        base, quote = base, -quote
    else:
        base, quote = -base, quote
    if base <= 0 or quote <= 0:
        raise DataError("The landed swap moved no tokens of its market for this wallet.")
    return base, quote


def record_amounts(rec: SwapRecord) -> tuple[Decimal, Decimal]:
    """(base qty, quote moved) of a filled record, in token units."""
    if rec.side == Side.BUY.value:
        return rec.filled_out, rec.filled_in
    return rec.filled_in, rec.filled_out


def order_qty(rec: SwapRecord) -> Decimal:
    """The order's base quantity: exact output of a buy, exact input of a sell."""
    return rec.quoted_out if rec.side == Side.BUY.value else rec.quoted_in


def fee_in_quote(rec: SwapRecord) -> Decimal:
    """The platform fee's value in the quote token. bags.fm takes it on either leg: in the
    quote token it is its own value; in the base token (SOL on SOL/USDC) it is worth the
    swap's gross price — quote moved per base before the fee — which the chain's deltas give
    (a buy's base received is net of the fee, a sell's base paid includes it)."""
    if not rec.platform_fee:
        return ZERO
    qty, quote = record_amounts(rec)
    buy = rec.side == Side.BUY.value
    quote_mint = rec.in_mint if buy else rec.out_mint
    base_mint = rec.out_mint if buy else rec.in_mint
    fee_mint = rec.platform_fee_mint or quote_mint  # rows before the fee mint was kept
    if fee_mint == quote_mint:
        return rec.platform_fee
    if fee_mint != base_mint:
        return ZERO
    gross_base = qty + rec.platform_fee if buy else qty - rec.platform_fee
    return rec.platform_fee * quote / gross_base if gross_base > 0 else ZERO


def fill_price(rec: SwapRecord) -> Decimal:
    """Quote per base, net of the platform fee (the fee is the Fill's own field): a buy
    spent qty × price + fee, a sell received qty × price − fee (the fee at its quote value)."""
    qty, _ = record_amounts(rec)
    return _cost(rec) / qty


def _cost(rec: SwapRecord) -> Decimal:
    # The exact quote moved net of the fee: qty × price would miss it in the 28th digit.
    _, quote = record_amounts(rec)
    fee = fee_in_quote(rec)
    return quote - fee if rec.side == Side.BUY.value else quote + fee


def fill_of(rec: SwapRecord, ts: int) -> Fill:
    qty, _ = record_amounts(rec)
    cost = _cost(rec)
    return Fill(
        fill_id=f"{rec.client_id}:{rec.signature}",
        client_id=rec.client_id,
        account_id=rec.account_id,
        symbol=rec.symbol,
        side=Side(rec.side),
        qty=qty,
        price=cost / qty,
        fee=fee_in_quote(rec),
        liquidity=Liquidity.TAKER,
        ts=ts,
        cost=cost,
    )


def fill_record(rec: SwapRecord, market: Market, base: int, quote: int, fee_lamports: int) -> None:
    """Write what landed into ``rec`` (status filled)."""
    base_qty = from_base_units(base, market.base_decimals)
    quote_qty = from_base_units(quote, market.quote_decimals)
    if rec.side == Side.BUY.value:
        rec.filled_in, rec.filled_out = quote_qty, base_qty
    else:
        rec.filled_in, rec.filled_out = base_qty, quote_qty
    rec.fee_lamports = fee_lamports
    rec.status = FILLED


def realised_slippage_bps(rec: SwapRecord) -> float:
    """How much worse than quoted the swap landed (bps, positive = worse)."""
    if rec.side == Side.BUY.value:
        quoted, got = rec.quoted_in, rec.filled_in
        return float((got - quoted) / quoted * 10_000) if quoted else 0.0
    quoted, got = rec.quoted_out, rec.filled_out
    return float((quoted - got) / quoted * 10_000) if quoted else 0.0


def venue_order(recs: list[SwapRecord], open_now: bool) -> VenueOrder:
    """One client order id rebuilt from its attempts (journal rows, by attempt)."""
    last = recs[-1]
    filled = next((r for r in recs if r.status == FILLED), None)
    qty = order_qty(recs[0])
    if filled is not None:
        # A swap executes once: the order came to what it delivered (bags.fm's buys are
        # sized from a price, near the order's quantity but not exactly it).
        filled_qty, _ = record_amounts(filled)
        status, qty, avg, last = OrderStatus.FILLED, filled_qty, fill_price(filled), filled
    else:
        status = OrderStatus.SUBMITTED if open_now or last.status == SENT else OrderStatus.REJECTED
        filled_qty, avg = Decimal(0), Decimal(0)
    return VenueOrder(
        client_id=last.client_id,
        symbol=last.symbol,
        status=status,
        qty=qty,
        filled_qty=filled_qty,
        avg_price=avg,
        venue_order_id=last.signature or None,
        side=Side(last.side),
        type=OrderType.MARKET,
        ts=recs[0].ts,
    )


def token_balances(result: Any, asset_of_mint: Mapping[str, str]) -> dict[str, Balance]:
    """getTokenAccountsByOwner (jsonParsed) summed per asset; mints no market names are kept
    under their address."""
    value = result.get("value") if isinstance(result, dict) else None
    if not isinstance(value, list):
        raise DataError("The Solana node answered token accounts without a list of them.")
    out: dict[str, Balance] = {}
    for entry in value:
        try:
            info = entry["account"]["data"]["parsed"]["info"]
            mint = str(info["mint"])
            amount = info["tokenAmount"]
            units = from_base_units(int(amount["amount"]), int(amount["decimals"]))
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "The Solana node answered a token account that is unreadable."
            ) from None
        asset = asset_of_mint.get(mint, mint)
        bal = out.setdefault(asset, Balance(asset))
        bal.free += units
    return out


__all__ = [
    "LEVELS",
    "fee_in_quote",
    "fill_of",
    "fill_price",
    "fill_record",
    "is_slippage",
    "moved",
    "order_qty",
    "owner_deltas",
    "reached",
    "realised_slippage_bps",
    "record_amounts",
    "token_balances",
    "venue_order",
]
