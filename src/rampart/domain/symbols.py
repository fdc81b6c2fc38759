"""How a market is named: ``BASE/QUOTE`` in capitals (``BTC/USDT``), as ccxt names spot
markets. Every symbol a person writes (the settings file, an API call, a bot command) is read
here, so ``btc/usdt`` trades in USDT and ``BTCUSDT`` is answered with how to write it.
"""

from __future__ import annotations

import re

PART = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")
"""One side of a symbol: letters and digits (``1000SHIB``), a dot, dash or underscore inside."""
QUOTES = (
    "FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDE", "USDP", "DAI", "USD", "EUR", "GBP", "TRY",
    "BRL", "BTC", "ETH", "BNB", "SOL",
)  # fmt: skip
"""Quote assets recognised at the end of a symbol written without its slash (``BTCUSDT``),
longest first so ``FDUSD`` wins over ``USD``."""
SEPARATORS = re.compile(r"[-_:\s]+")
EXAMPLE = "for example BTC/USDT"


class SymbolError(ValueError):
    """A symbol that is not ``BASE/QUOTE``: the message says how to write it."""


def _guess(text: str) -> str | None:
    """The BASE/QUOTE a person most likely meant by ``text``, or None."""
    parts = [p for p in SEPARATORS.split(text.upper()) if p]
    if len(parts) == 2 and all(PART.match(p) for p in parts):
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 1:
        for quote in QUOTES:
            base = parts[0].removesuffix(quote)
            if base != parts[0] and PART.match(base):
                return f"{base}/{quote}"
    return None


def normalize_symbol(raw: object) -> str:
    """``raw`` as ``BASE/QUOTE`` in capitals, or :class:`SymbolError` saying how to write it
    (a fragment to follow a key's name: no capital, no full stop)."""
    if not isinstance(raw, str):
        raise SymbolError(f"a symbol is text such as BTC/USDT, not {raw!r}")
    text = raw.strip()
    if text.count("/") == 1:
        base, quote = (part.strip().upper() for part in text.split("/"))
        if PART.match(base) and PART.match(quote) and base != quote:
            return f"{base}/{quote}"
    # With two slashes or more nothing is guessed: a slash stays in a part, and no asset has one.
    elif (meant := _guess(text)) is not None:
        raise SymbolError(f"{raw!r} is not BASE/QUOTE: write {meant}")
    raise SymbolError(
        f"{raw!r} is not a symbol: write it as BASE/QUOTE, two different assets in letters and "
        f"digits, {EXAMPLE}"
    )


def quote_asset(symbol: str) -> str:
    """The quote asset of a ``BASE/QUOTE`` symbol (``BTC/USDT`` → ``USDT``)."""
    return symbol.rpartition("/")[2].partition(":")[0]


__all__ = ["SymbolError", "normalize_symbol", "quote_asset"]
