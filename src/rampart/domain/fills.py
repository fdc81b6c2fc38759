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

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price


@dataclass(slots=True)
class Balance:
    asset: str
    free: Decimal = ZERO
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked
