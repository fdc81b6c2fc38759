"""Pricing a swap on a route's pool, and the two APIs' quote answers.

Jupiter quotes an exact input or an exact output and takes no fee here. bags.fm quotes an
exact input only (its ``amount`` is always what goes in) and takes its platform fee in the mint
its reference documents: native SOL when either leg is SOL, else a stablecoin leg, else the
input. On the input side the fee comes off ``amount`` before the pool; on the output side out
of the proceeds. ``out_amount`` is always what the taker receives.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rampart_testkit.solana_sim.markets import Market
from rampart_testkit.solana_sim.pools import BPS, Pool, PoolError

MODES = ("ExactIn", "ExactOut")
STABLES = ("USDC", "USDT")


class QuoteError(ValueError):
    """No route for this swap (unknown pair, amount too large for the pool, bad mode)."""


@dataclass(frozen=True)
class Priced:
    in_amount: int
    out_amount: int
    pool_in: int
    pool_out: int
    platform_fee: int
    """In ``fee_mint``: off the input before the pool, or out of the pool's output."""
    fee_mint: str
    lp_fee: int
    """In the input mint, what the pool keeps as its fee."""
    impact: Decimal


def find_market(
    markets: dict[str, Market], input_mint: str, output_mint: str
) -> tuple[Market, bool]:
    """The market and whether base is the input (a sell)."""
    for market in markets.values():
        if market.base.address == input_mint and market.quote.address == output_mint:
            return market, True
        if market.quote.address == input_mint and market.base.address == output_mint:
            return market, False
    raise QuoteError("no market trades these two mints")


def fee_mint(market: Market, base_in: bool) -> str:
    """bags.fm's documented fee mint for a swap on ``market``."""
    legs = (market.base, market.quote) if base_in else (market.quote, market.base)
    for wanted in ("SOL", *STABLES):
        for mint in legs:
            if mint.symbol == wanted:
                return mint.address
    return legs[0].address


def _outcome(pool: Pool, base_in: bool, pool_in: int, pool_out: int) -> tuple[int, Decimal]:
    if pool_out <= 0 or pool_in <= 0:
        raise QuoteError("the amount is too small to swap")
    lp_fee = pool_in - pool_in * (BPS - pool.fee_bps) // BPS
    return lp_fee, pool.impact(pool_in, base_in)


def price_swap(pool: Pool, base_in: bool, mode: str, amount: int) -> Priced:
    """Jupiter: ``amount`` is the input (ExactIn) or the output (ExactOut); no platform fee."""
    if mode not in MODES:
        raise QuoteError(f"swapMode must be ExactIn or ExactOut, not {mode!r}")
    if amount <= 0:
        raise QuoteError("the amount must be a positive integer")
    try:
        if mode == "ExactIn":
            pool_in, pool_out = amount, pool.out_for_in(amount, base_in)
        else:
            pool_in, pool_out = pool.in_for_out(amount, base_in), amount
    except PoolError as exc:
        raise QuoteError(str(exc)) from None
    lp_fee, impact = _outcome(pool, base_in, pool_in, pool_out)
    return Priced(pool_in, pool_out, pool_in, pool_out, 0, "", lp_fee, impact)


def price_bags(pool: Pool, market: Market, base_in: bool, amount: int, fee_bps: int) -> Priced:
    """bags.fm: ``amount`` is the input; the fee in its documented mint and side."""
    if amount <= 0:
        raise QuoteError("the amount must be a positive integer")
    mint = fee_mint(market, base_in)
    input_mint = (market.base if base_in else market.quote).address
    try:
        if mint == input_mint:
            fee = amount * fee_bps // BPS
            pool_in = amount - fee
            pool_out = out = pool.out_for_in(pool_in, base_in)
        else:
            pool_in = amount
            pool_out = pool.out_for_in(amount, base_in)
            fee = pool_out * fee_bps // BPS
            out = pool_out - fee
    except PoolError as exc:
        raise QuoteError(str(exc)) from None
    lp_fee, impact = _outcome(pool, base_in, pool_in, out)
    return Priced(amount, out, pool_in, pool_out, fee, mint, lp_fee, impact)


def threshold(priced: Priced, mode: str, slippage_bps: int) -> int:
    """ExactIn: the least output accepted; ExactOut: the most input paid."""
    if mode == "ExactIn":
        return priced.out_amount * (BPS - slippage_bps) // BPS
    return -(-priced.in_amount * (BPS + slippage_bps) // BPS)


def _mints(market: Market, base_in: bool) -> tuple[str, str]:
    if base_in:
        return market.base.address, market.quote.address
    return market.quote.address, market.base.address


def jupiter_quote_json(
    *,
    market: Market,
    base_in: bool,
    mode: str,
    priced: Priced,
    slippage_bps: int,
    pool_key: str,
    slot: int,
) -> dict[str, object]:
    """Jupiter's ``QuoteResponse`` (swagger.yaml of its API client)."""
    input_mint, output_mint = _mints(market, base_in)
    return {
        "inputMint": input_mint,
        "inAmount": str(priced.in_amount),
        "outputMint": output_mint,
        "outAmount": str(priced.out_amount),
        "otherAmountThreshold": str(threshold(priced, mode, slippage_bps)),
        "swapMode": mode,
        "slippageBps": slippage_bps,
        "platformFee": None,
        "priceImpactPct": f"{priced.impact:.6f}",
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": pool_key,
                    "label": "SimAMM",
                    "inputMint": input_mint,
                    "outputMint": output_mint,
                    "inAmount": str(priced.pool_in),
                    "outAmount": str(priced.pool_out),
                    "feeAmount": str(priced.lp_fee),
                    "feeMint": input_mint,
                },
                "percent": 100,
                "bps": BPS,
            }
        ],
        "contextSlot": slot,
        "timeTaken": 0.001,
    }


def bags_quote_json(
    *,
    market: Market,
    base_in: bool,
    priced: Priced,
    slippage_bps: int,
    fee_bps: int,
    fee_account: str,
    request_id: str,
    pool_key: str,
    slot: int,
) -> dict[str, object]:
    """bags.fm's ``TradeQuoteResponse`` (its SDK's src/types/trade.ts)."""
    input_mint, output_mint = _mints(market, base_in)
    decimals = {m.address: m.decimals for m in (market.base, market.quote)}
    least = threshold(priced, "ExactIn", slippage_bps)
    return {
        "requestId": request_id,
        "contextSlot": slot,
        "inAmount": str(priced.in_amount),
        "inputMint": input_mint,
        "outAmount": str(priced.out_amount),
        "outputMint": output_mint,
        "minOutAmount": str(least),
        "otherAmountThreshold": str(least),
        "priceImpactPct": f"{priced.impact:.6f}",
        "slippageBps": slippage_bps,
        "routePlan": [
            {
                "venue": "SimAMM",
                "inAmount": str(priced.pool_in),
                "outAmount": str(priced.pool_out),
                "inputMint": input_mint,
                "outputMint": output_mint,
                "inputMintDecimals": decimals[input_mint],
                "outputMintDecimals": decimals[output_mint],
                "marketKey": pool_key,
                "data": "",
            }
        ],
        "platformFee": {
            "amount": str(priced.platform_fee),
            "feeBps": fee_bps,
            "feeAccount": fee_account,
            "segmenterFeeAmount": "0",
            "segmenterFeePct": 0,
        },
        "simulatedComputeUnits": None,
    }


__all__ = [
    "MODES",
    "Priced",
    "QuoteError",
    "bags_quote_json",
    "fee_mint",
    "find_market",
    "jupiter_quote_json",
    "price_bags",
    "price_swap",
    "threshold",
]
