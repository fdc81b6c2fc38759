"""Constant-product pools (x*y=k) with an LP fee, in integer base units.

The whole input, LP fee included, stays in the pool, so k never decreases. Rounding always
favours the pool: outputs round down, required inputs round up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

BPS = 10_000


class PoolError(ValueError):
    """The pool cannot do this swap (e.g. asks for all or more than its reserve)."""


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Pool:
    base: int
    quote: int
    fee_bps: int = 25

    @property
    def k(self) -> int:
        return self.base * self.quote

    def reserves(self, base_in: bool) -> tuple[int, int]:
        """(input reserve, output reserve) for a swap selling base (``base_in``) or quote."""
        return (self.base, self.quote) if base_in else (self.quote, self.base)

    def out_for_in(self, amount_in: int, base_in: bool) -> int:
        if amount_in <= 0:
            raise PoolError("the amount must be positive")
        r_in, r_out = self.reserves(base_in)
        eff = amount_in * (BPS - self.fee_bps) // BPS
        return r_out * eff // (r_in + eff)

    def in_for_out(self, amount_out: int, base_in: bool) -> int:
        if amount_out <= 0:
            raise PoolError("the amount must be positive")
        r_in, r_out = self.reserves(base_in)
        if amount_out >= r_out:
            raise PoolError("the pool has not that much to give")
        eff = _ceil_div(r_in * amount_out, r_out - amount_out)
        amount_in = _ceil_div(eff * BPS, BPS - self.fee_bps)
        while self.out_for_in(amount_in, base_in) < amount_out:
            amount_in += 1
        return amount_in

    def impact(self, amount_in: int, base_in: bool) -> Decimal:
        """Price impact of a swap, as a fraction: how far its average price is from the
        pool's spot price, the LP fee aside."""
        r_in, _ = self.reserves(base_in)
        eff = amount_in * (BPS - self.fee_bps) // BPS
        return Decimal(eff) / Decimal(r_in + eff) if eff > 0 else Decimal(0)

    def apply(self, amount_in: int, amount_out: int, base_in: bool) -> None:
        if base_in:
            self.base += amount_in
            self.quote -= amount_out
        else:
            self.quote += amount_in
            self.base -= amount_out

    def set_price(self, price_units: Decimal) -> None:
        """Move the pool to ``price_units`` (quote base units per base base unit) keeping k,
        as an arbitrageur trading against it would."""
        with localcontext() as ctx:
            ctx.prec = 60
            k = Decimal(self.k)
            base = (k / price_units).sqrt()
            self.base = max(int(base), 1)
            self.quote = max(int(base * price_units), 1)

    def spot(self) -> Decimal:
        """Quote base units per base base unit."""
        return Decimal(self.quote) / Decimal(self.base)


def pool_for(
    price: Decimal, depth_quote: Decimal, base_decimals: int, quote_decimals: int, fee_bps: int
) -> Pool:
    """A pool at ``price`` (quote per base, in tokens) holding ``depth_quote`` tokens of
    quote and the same value of base."""
    quote = int(Decimal(depth_quote) * (Decimal(10) ** quote_decimals))
    base = int(Decimal(depth_quote) / price * (Decimal(10) ** base_decimals))
    if base <= 0 or quote <= 0:
        raise PoolError("the pool would be empty at that price and depth")
    return Pool(base, quote, fee_bps)
