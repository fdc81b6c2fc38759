"""Pricing a swap on a route's pool: ExactIn and ExactOut, bags' platform fee, thresholds.

Bags takes its platform fee on the quote-currency leg: from the input of a buy (before the
pool), from the output of a sell (after the pool). ``out_amount`` is always what the user gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rampart_testkit.solana_sim.markets import Market
from rampart_testkit.solana_sim.pools import BPS, Pool, PoolError

MODES = ("ExactIn", "ExactOut")


class QuoteError(ValueError):
    """No route for this swap (unknown pair, amount too large for the pool, bad mode)."""


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class Priced:
    in_amount: int
    out_amount: int
    pool_in: int
    pool_out: int
    platform_fee: int
    """In the quote mint: taken from the input of a buy, from the output of a sell."""
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


def price_swap(pool: Pool, base_in: bool, mode: str, amount: int, platform_bps: int) -> Priced:
    """Price ``amount`` (the input for ExactIn, the output for ExactOut) on ``pool``."""
    if mode not in MODES:
        raise QuoteError(f"swapMode must be ExactIn or ExactOut, not {mode!r}")
    if amount <= 0:
        raise QuoteError("the amount must be a positive integer")
    try:
        if mode == "ExactIn":
            if base_in:
                pool_in = amount
                gross = pool.out_for_in(pool_in, base_in)
                fee = gross * platform_bps // BPS
                in_amount, pool_out, out_amount = amount, gross, gross - fee
            else:
                fee = amount * platform_bps // BPS
                pool_in = amount - fee
                pool_out = pool.out_for_in(pool_in, base_in)
                in_amount, out_amount = amount, pool_out
        elif base_in:
            gross = _ceil_div(amount * BPS, BPS - platform_bps)
            fee = gross - amount
            pool_in = pool.in_for_out(gross, base_in)
            in_amount, pool_out, out_amount = pool_in, gross, amount
        else:
            pool_in = pool.in_for_out(amount, base_in)
            in_amount = _ceil_div(pool_in * BPS, BPS - platform_bps)
            fee = in_amount - pool_in
            pool_out, out_amount = amount, amount
    except PoolError as exc:
        raise QuoteError(str(exc)) from None
    if out_amount <= 0 or pool_in <= 0:
        raise QuoteError("the amount is too small to swap")
    lp_fee = pool_in - pool_in * (BPS - pool.fee_bps) // BPS
    return Priced(
        in_amount, out_amount, pool_in, pool_out, fee, lp_fee, pool.impact(pool_in, base_in)
    )


def threshold(priced: Priced, mode: str, slippage_bps: int) -> int:
    """ExactIn: the least output accepted; ExactOut: the most input paid."""
    if mode == "ExactIn":
        return priced.out_amount * (BPS - slippage_bps) // BPS
    return _ceil_div(priced.in_amount * (BPS + slippage_bps), BPS)


def quote_json(
    *,
    market: Market,
    base_in: bool,
    mode: str,
    priced: Priced,
    slippage_bps: int,
    pool_key: str,
    slot: int,
) -> dict[str, object]:
    """Jupiter's quote response shape (bags wraps the same fields)."""
    input_mint = market.base.address if base_in else market.quote.address
    output_mint = market.quote.address if base_in else market.base.address
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
            }
        ],
        "contextSlot": slot,
        "timeTaken": 0.001,
    }
