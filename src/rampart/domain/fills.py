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
    """The fee's value in the quote currency, never negative (what PnL is charged)."""
    liquidity: Liquidity
    ts: int
    cost: Decimal | None = None
    """The quote this fill moved, net of the fee, when ``qty × price`` cannot say it exactly: a
    swap moves whole base units of two tokens and their ratio (the price) need not terminate,
    so the product would be off in the 28th digit and the books would drift from the chain.
    None when the product is exact (an exchange's fills)."""
    fee_asset: str = ""
    """The asset the venue took the fee in; "" for the quote currency. An exchange such as
    Binance takes a buy's fee from the base asset received (the account holds ``qty -
    fee_qty``), a sell's from the quote received, or BNB when the account pays fees with it."""
    fee_qty: Decimal = ZERO
    """How much of ``fee_asset`` the venue took (0 when ``fee_asset`` is "")."""

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
