"""Fills (executions) and balances."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from rampart.domain.money import ZERO
from rampart.domain.orders import Side
from rampart.domain.quick import quick_init


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@quick_init
@dataclass(frozen=True, slots=True)
class Fill:
    fill_id: str
    client_id: str
    account_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    """Always in the quote currency, never negative."""
    liquidity: Liquidity
    ts: int
    cost: Decimal | None = None
    """The quote this fill moved, net of the fee, when ``qty × price`` cannot say it exactly: a
    swap moves whole base units of two tokens and their ratio (the price) need not terminate,
    so the product would be off in the 28th digit and the books would drift from the chain.
    None when the product is exact (an exchange's fills)."""

    @property
    def notional(self) -> Decimal:
        cost = self.cost
        return self.qty * self.price if cost is None else cost


@dataclass(slots=True)
class Balance:
    asset: str
    free: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked
