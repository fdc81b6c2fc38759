"""The simulated exchange's records: API accounts, order metadata, order lists, trades, and
new-order requests as the server parsed them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.money import ZERO
from rampart.domain.orders import Side


@dataclass(frozen=True, slots=True)
class ApiAccount:
    account_id: str
    key: str
    secret: str


@dataclass(slots=True)
class OrderMeta:
    """What Binance shows about an order that the matching core does not keep."""

    order_id: int
    binance_type: str
    time_in_force: str | None
    list_id: int = -1
    expired: bool = False
    quote_qty: Decimal = ZERO
    iceberg_qty: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderList:
    list_id: int
    list_client_id: str
    account_id: str
    symbol: str
    legs: tuple[str, str]
    """Client ids of the two legs: the stop (below) and the limit maker (above)."""
    created_ms: int


@dataclass(frozen=True, slots=True)
class Trade:
    trade_id: int
    order_id: int
    list_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as the server parsed it (Binance types, unified symbol)."""

    symbol: str
    side: Side
    binance_type: str
    client_id: str
    qty: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str | None = None
    quote_qty: Decimal | None = None
    iceberg_qty: Decimal | None = None
    trailing_delta: int | None = None
