"""Tradable instruments with the venue's filters: tick size, lot size, minimums."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.money import ZERO, dec, floor_to_step, is_multiple, round_to_step


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    min_notional: Decimal

    def round_price(self, price: Decimal) -> Decimal:
        return round_to_step(price, self.tick_size)

    def floor_qty(self, qty: Decimal) -> Decimal:
        return floor_to_step(qty, self.lot_size)

    def price_on_tick(self, price: Decimal) -> bool:
        return is_multiple(price, self.tick_size)

    def qty_on_lot(self, qty: Decimal) -> bool:
        return is_multiple(qty, self.lot_size)

    @staticmethod
    def split_symbol(symbol: str) -> tuple[str, str]:
        if "/" not in symbol:
            raise ValueError(f"symbol {symbol!r} must look like BASE/QUOTE, for example BTC/USDT")
        base, quote = symbol.split("/", 1)
        quote = quote.split(":", 1)[0]  # ccxt's perpetual suffix, e.g. XRP/USDT:USDT
        return base, quote

    @classmethod
    def for_price(cls, symbol: str, typical_price: float) -> Instrument:
        """Filters for a symbol known only from its prices (replay files, synthetic data).

        The tick keeps five significant digits of the typical price and the minimum notional
        is what spot venues use for the quote currency, so tiny BTC-quoted prices keep
        their precision.
        """
        base, quote = cls.split_symbol(symbol)
        if not math.isfinite(typical_price) or typical_price <= 0:
            raise ValueError(f"cannot derive instrument filters from price {typical_price!r}")
        magnitude = math.floor(math.log10(typical_price))
        tick = Decimal(1).scaleb(magnitude - 4)
        min_notional = MIN_NOTIONAL_BY_QUOTE.get(quote, Decimal("0.0001"))
        lot_exp = math.floor(math.log10(float(min_notional) / typical_price)) - 2
        lot = Decimal(1).scaleb(min(lot_exp, 0))
        return cls(
            symbol=symbol,
            base=base,
            quote=quote,
            tick_size=tick,
            lot_size=lot,
            min_qty=lot,
            min_notional=min_notional,
        )


MIN_NOTIONAL_BY_QUOTE: dict[str, Decimal] = {
    "USDT": Decimal("5"),
    "USDC": Decimal("5"),
    "USD": Decimal("5"),
    "BUSD": Decimal("5"),
    "BTC": Decimal("0.0001"),
    "ETH": Decimal("0.001"),
}

DEFAULT_INSTRUMENTS: dict[str, Instrument] = {
    "BTC/USDT": Instrument(
        "BTC/USDT", "BTC", "USDT", dec("0.01"), dec("0.00001"), dec("0.00001"), dec("5")
    ),
    "ETH/USDT": Instrument(
        "ETH/USDT", "ETH", "USDT", dec("0.01"), dec("0.0001"), dec("0.0001"), dec("5")
    ),
    "SOL/USDT": Instrument(
        "SOL/USDT", "SOL", "USDT", dec("0.01"), dec("0.001"), dec("0.001"), dec("5")
    ),
}


def notional(qty: Decimal, price: Decimal) -> Decimal:
    return qty * price if qty > ZERO else ZERO
