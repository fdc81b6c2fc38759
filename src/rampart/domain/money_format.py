"""Money as people read it: the one formatter of every front (panel, bot, notices, reports, CLI).

- an amount carries its asset's symbol and thousands separators: ``29,271.17 USDT``;
- quote amounts (equity, cash, fees, PnL, volume) have 2 decimals in dollar-like and fiat
  assets, 8 in others (a BTC-quoted account's fees in satoshi, not ``0.00``);
- PnL is signed: ``+12.30 USDT``, ``-4.10 USDT`` (an amount that rounds to zero has no sign);
- quantities have the instrument's precision (the decimals of its lot step: ``0.500 BTC`` on a
  0.001 lot), or as many decimals as they need when the instrument is not known;
- prices have the tick's decimals, or six significant digits when the tick is not known, so a
  memecoin at ``0.00003127`` stays readable.

Exact values stay exact where machines read them: JSON (the API, stored figures) and CSV keep
the full decimal string; only what a person reads goes through here. Rounding is half-even,
as Decimal's default context rounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

DASH = "—"
QUOTE_PLACES = 2
"""Decimals of an amount in a dollar-like or fiat asset."""
CRYPTO_PLACES = 8
"""Decimals of an amount in any other asset (a satoshi of BTC)."""
PRICE_DIGITS = 6
"""Significant digits of a price whose tick is not known."""
MAX_PLACES = 12
TWO_PLACE_ASSETS = frozenset(
    {
        # dollar-like stablecoins
        "USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USDP", "DAI", "PYUSD", "USDE", "USDS",
        # fiat and fiat-backed
        "EUR", "EURC", "EURT", "GBP", "AUD", "CAD", "CHF", "BRL", "TRY", "MXN", "PLN", "ZAR",
        "UAH", "ARS", "IDR", "INR", "NGN", "RUB", "SGD", "HKD", "NZD", "SEK", "NOK", "DKK",
    }
)  # fmt: skip


def places_of(asset: str) -> int:
    """How many decimals an amount of ``asset`` is shown with (two when it is not named)."""
    return QUOTE_PLACES if not asset or asset.upper() in TWO_PLACE_ASSETS else CRYPTO_PLACES


def step_places(step: Decimal | None) -> int | None:
    """The decimals of an instrument's step (lot or tick): ``0.001`` → 3, ``1`` → 0; None when
    there is no usable step."""
    if step is None or not step.is_finite() or step <= 0:
        return None
    # A finite step's exponent is a number (only NaN and infinity have a letter there).
    return min(max(-int(step.normalize().as_tuple().exponent), 0), MAX_PLACES)


def _decimal(value: Decimal | int | float | str | None) -> Decimal | None:
    """``value`` as a finite Decimal; None for None, a bool, or what is not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        found = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        return None
    return found if found.is_finite() else None


def _fixed(value: Decimal, places: int, signed: bool = False) -> str:
    """``value`` rounded to ``places`` with thousands separators; ``signed`` adds ``+`` to a
    positive value. A value that rounds to zero is ``0.00``, never ``-0.00``."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if rounded.is_zero():
        rounded = abs(rounded)
    text = f"{rounded:,f}"
    return "+" + text if signed and rounded > 0 else text


def _with(text: str, asset: str | None) -> str:
    return f"{text} {asset}" if asset else text


def money(amount: Decimal | int | float | str | None, asset: str, *, signed: bool = False) -> str:
    """A quote amount (equity, cash, fees, volume): ``29,271.17 USDT``. None (or something
    that is not a number) is ``—``."""
    value = _decimal(amount)
    if value is None:
        return DASH
    return _with(_fixed(value, places_of(asset), signed), asset)


def pnl(amount: Decimal | int | float | str | None, asset: str) -> str:
    """A profit or loss, signed: ``+1,204.50 USDT``, ``-3.20 USDT``."""
    return money(amount, asset, signed=True)


def quantity(
    qty: Decimal | int | float | str | None, step: Decimal | None = None, asset: str = ""
) -> str:
    """A quantity to the instrument's precision (its lot ``step``'s decimals), or with the
    decimals it needs (at most 12) when the step is not known: ``0.500 BTC``."""
    value = _decimal(qty)
    if value is None:
        return DASH
    places = step_places(step)
    if places is None:
        text = _fixed(value, MAX_PLACES)
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return _with(text, asset)
    return _with(_fixed(value, places), asset)


def price(
    value: Decimal | int | float | str | None, quote: str = "", tick: Decimal | None = None
) -> str:
    """A price to the tick's decimals, or, without a tick, two decimals from 100 up and six
    significant digits below (``0.0000312700``, ``1.23457``), never an exponent."""
    found = _decimal(value)
    if found is None:
        return DASH
    places = step_places(tick)
    if places is None:
        if found.is_zero() or abs(found) >= 100:
            places = QUOTE_PLACES
        else:
            places = min(max(PRICE_DIGITS - 1 - found.adjusted(), QUOTE_PLACES), MAX_PLACES)
    return _with(_fixed(found, places), quote)


def totals(amounts: Mapping[str, Decimal], *, signed: bool = False) -> str:
    """Amounts in several assets, never added across assets: ``1,000.00 USDT · 0.50000000
    BTC``; ``—`` when there are none."""
    if not amounts:
        return DASH
    return " · ".join(money(v, a, signed=signed) for a, v in sorted(amounts.items()))


__all__ = [
    "DASH",
    "money",
    "places_of",
    "pnl",
    "price",
    "quantity",
    "step_places",
    "totals",
]
