"""Which asset an exchange takes a fill's fee from, when it is not always the quote currency.

Binance (``faqs/commission_faq.md`` of its spot API reference) takes the commission from what a
fill brings in: a buy pays in the base asset received, a sell in the quote received, rounded up
to 8 decimals (its commission precision). An account that pays fees with BNB pays the
commission less the BNB discount, in BNB at BNB's last price, when it holds enough BNB; else
it pays as above. The paper venue charges no such way: its fees are in the quote currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_UP, Decimal

from rampart.domain.instruments import Instrument
from rampart.domain.money import ONE, ZERO
from rampart.domain.orders import Side
from rampart.venues.book import SubAccount
from rampart.venues.pricing import ceil_quantum

COMMISSION_QUANTUM = Decimal("1e-8")
"""Binance's ``baseCommissionPrecision``/``quoteCommissionPrecision``: 8 decimals."""
BNB_DISCOUNT = Decimal("0.25")


@dataclass(frozen=True, slots=True)
class Charging:
    quantum: Decimal = COMMISSION_QUANTUM
    discount_asset: str = "BNB"
    discount: Decimal = BNB_DISCOUNT

    def round(self, value: Decimal) -> Decimal:
        return value.quantize(self.quantum, rounding=ROUND_UP)

    def charge(
        self,
        side: Side,
        inst: Instrument,
        qty: Decimal,
        price: Decimal,
        rate: Decimal,
        discount_price: Decimal | None = None,
        discount_free: Decimal = ZERO,
    ) -> tuple[str, Decimal, Decimal]:
        """(asset, amount, value in the quote) of one fill's fee at ``rate``.

        ``discount_price`` is the discount asset's last price in the quote when the account
        pays fees with it (None: it does not); ``discount_free`` what it holds free of it."""
        notional = qty * price
        if discount_price is not None and discount_price > ZERO:
            amount = self.round(notional * rate * (ONE - self.discount) / discount_price)
            if amount <= discount_free:
                return self.discount_asset, amount, amount * discount_price
        if side is Side.BUY:
            amount = self.round(qty * rate)
            return inst.base, amount, amount * price
        amount = self.round(notional * rate)
        return inst.quote, amount, amount


def settle(
    acct: SubAccount,
    side: Side,
    inst: Instrument,
    qty: Decimal,
    price: Decimal,
    rate: Decimal,
    charging: Charging | None,
    discount_price: Decimal | None = None,
) -> tuple[Decimal, str, Decimal]:
    """Move one fill's money in ``acct``; returns the fee's (value in the quote, asset, amount),
    the asset "" when the fee is in the quote currency (no ``charging``)."""
    notional = qty * price
    buy = side is Side.BUY
    if charging is None:
        fee = ceil_quantum(notional * rate)
        if buy:
            acct.credit(inst.quote, -(notional + fee))
            acct.credit(inst.base, qty)
        else:
            acct.credit(inst.base, -qty)
            acct.credit(inst.quote, notional - fee)
        return fee, "", ZERO
    free = acct.free(charging.discount_asset) if discount_price is not None else ZERO
    asset, amount, value = charging.charge(side, inst, qty, price, rate, discount_price, free)
    acct.credit(inst.quote, -notional if buy else notional)
    acct.credit(inst.base, qty if buy else -qty)
    acct.credit(asset, -amount)
    return value, asset, amount


BINANCE = Charging()
"""How Binance charges, the exchange simulator's default."""
