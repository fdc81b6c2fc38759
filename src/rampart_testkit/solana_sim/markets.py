"""Mints and markets of the Solana stand-in: readable symbols, real mainnet mint addresses."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from solders.pubkey import Pubkey

from rampart.domain.errors import RampartError

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 - an on-chain program id
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"  # noqa: S105 - an on-chain program id
JUPITER_PROGRAM = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
BAGS_PROGRAM = "BAGSB9TpGrZxQbEsrEznv5jXXdwyP6AXerN8aVRiAmcv"
CLAIM_PROGRAM = "FEE2tBhCKAt7shrod19QttSVREUYPiyMzoku1mL1gqVK"
"""The stand-in's partner-fee claims (bags.fm's fee-share program, in spirit)."""
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
SYSTEM_PROGRAM = "11111111111111111111111111111111"
ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
WSOL_MINT = "So11111111111111111111111111111111111111112"


@dataclass(frozen=True)
class Mint:
    symbol: str
    address: str
    decimals: int
    program: str = TOKEN_PROGRAM
    """The token program that owns the mint: the classic one, or Token-2022 (PYUSD)."""


KNOWN_MINTS: dict[str, Mint] = {
    m.symbol: m
    for m in (
        Mint("SOL", "So11111111111111111111111111111111111111112", 9),
        Mint("USDC", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 6),
        Mint("BONK", "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263", 5),
        Mint("JUP", "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN", 6),
        Mint("PYUSD", "2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo", 6, TOKEN_2022_PROGRAM),
    )
}
DEFAULT_MARKETS: dict[str, Decimal] = {
    "SOL/USDC": Decimal(150),
    "BONK/USDC": Decimal("0.00002"),
    "JUP/USDC": Decimal("0.8"),
}
_SYMBOL = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


def mint_for(symbol: str) -> Mint:
    """The real mint of a known symbol; any other symbol gets a made-up address derived from
    its name (stable across runs) and 6 decimals."""
    known = KNOWN_MINTS.get(symbol)
    if known is not None:
        return known
    digest = hashlib.sha256(f"rampart-sim-mint:{symbol}".encode()).digest()
    return Mint(symbol, str(Pubkey.from_bytes(digest)), 6)


@dataclass(frozen=True)
class Market:
    symbol: str
    base: Mint
    quote: Mint
    price: Decimal


def parse_market(spec: str) -> tuple[str, Decimal]:
    """``"SOL/USDC=150"`` → ``("SOL/USDC", Decimal(150))``."""
    text = spec.strip()
    symbol, sep, price_text = text.partition("=")
    symbol = symbol.strip().upper()
    parts = symbol.split("/")
    if not sep or len(parts) != 2 or not all(_SYMBOL.match(p) for p in parts):
        raise RampartError(f"A market looks like SOL/USDC=150 (symbol and price); got {spec!r}.")
    if parts[0] == parts[1]:
        raise RampartError(f"A market needs two different tokens; got {spec!r}.")
    try:
        price = Decimal(price_text.strip())
    except InvalidOperation:
        raise RampartError(f"The price in {spec!r} is not a number.") from None
    if not price.is_finite() or price <= 0:
        raise RampartError(f"The price in {spec!r} must be a positive number.")
    return symbol, price


def build_markets(prices: dict[str, Decimal]) -> dict[str, Market]:
    out: dict[str, Market] = {}
    for symbol, price in prices.items():
        base, quote = symbol.split("/")
        out[symbol] = Market(symbol, mint_for(base), mint_for(quote), Decimal(price))
    return out
