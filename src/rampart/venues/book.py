"""The venue's own records: its orders and each sub-account's money.

An account stores only the total of each asset. What is locked is never stored: it is
computed from the open orders every time, so "locked equals what the open orders require"
cannot drift. Free is total minus locked.

What an open order requires:

- a sell holds its remaining base quantity; the two legs of an OCO hold it once;
- a buy holds ``remaining × lock_price × (1 + lock_rate)`` of the quote currency, rounded up
  to 12 places like fees are. ``lock_price`` is the worst price it can fill at when accepted:
  the limit for limits and stop-limits, the last close plus the largest slippage for market
  orders, the stop plus the largest slippage for stop-markets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from rampart.domain.fills import Balance
from rampart.domain.money import ONE, ZERO
from rampart.domain.orders import TERMINAL, OrderStatus, OrderType, Side
from rampart.trading.ports import VenueOrder
from rampart.venues.pricing import ceil_quantum


def buy_requirement(remaining: Decimal, lock_price: Decimal, lock_rate: Decimal) -> Decimal:
    return ceil_quantum(remaining * lock_price * (ONE + lock_rate)) if remaining > ZERO else ZERO


def affordable_qty(
    free: Decimal, order: BookOrder, qty: Decimal, price: Decimal, rate: Decimal, lot: Decimal
) -> tuple[Decimal, bool]:
    """The largest quantity up to ``qty`` (on the ``lot``) a buy can pay for now at ``price``
    and the fee ``rate``, with ``free`` of the quote besides what the order holds, and whether
    the rest of the order stays paid for (False: the rest is to be canceled)."""
    held = order.requirement()

    def payable(x: Decimal, rest_held: Decimal) -> bool:
        notional = x * price
        cost = notional + ceil_quantum(notional * rate)
        return free + held - rest_held - cost >= ZERO

    left = order.remaining - qty
    rest = buy_requirement(left, order.lock_price, order.lock_rate)
    if payable(qty, rest):
        return qty, True
    # Short: the rest of the order is canceled, so nothing stays held for it and all of its
    # money may pay for this fill, up to ``qty`` itself.
    lo, hi = 0, int(qty / lot) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if payable(mid * lot, ZERO):
            lo = mid
        else:
            hi = mid
    return lo * lot, False


@dataclass(slots=True)
class BookOrder:
    seq: int
    """Creation order across the whole venue (0 for orders rejected at submit)."""
    venue_order_id: str | None
    client_id: str
    account_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    held_asset: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    lock_price: Decimal = ZERO
    lock_rate: Decimal = ZERO
    oco_group: str | None = None
    status: OrderStatus = OrderStatus.SUBMITTED
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 0
    triggered: bool = False
    created_ts: int = 0
    updated_ts: int = 0
    code: str = ""
    reason: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL  # not status.terminal, without its call

    @property
    def avg_price(self) -> Decimal:
        return self.filled_notional / self.filled_qty if self.filled_qty > ZERO else ZERO

    def requirement(self) -> Decimal:
        """What this order holds of ``held_asset`` while open."""
        if not self.is_open:
            return ZERO
        remaining = self.remaining
        if self.side is Side.BUY:
            return buy_requirement(remaining, self.lock_price, self.lock_rate)
        return remaining

    def view(self) -> VenueOrder:
        return VenueOrder(
            client_id=self.client_id,
            symbol=self.symbol,
            status=self.status,
            qty=self.qty,
            filled_qty=self.filled_qty,
            avg_price=self.avg_price,
            venue_order_id=self.venue_order_id,
            side=self.side,
            type=self.type,
            price=self.price,
            stop_price=self.stop_price,
            ts=self.created_ts,
        )


_ENUMS: dict[str, Any] = {"side": Side, "type": OrderType, "status": OrderStatus}
_DECIMALS = {
    "qty", "price", "stop_price", "lock_price", "lock_rate", "filled_qty", "filled_notional",
    "fees",
}  # fmt: skip
_FIELDS = tuple(f.name for f in fields(BookOrder))


def order_to_dict(order: BookOrder) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(order, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif name in _ENUMS:
            value = value.value
        out[name] = value
    return out


def order_from_dict(data: dict[str, Any]) -> BookOrder:
    kwargs: dict[str, Any] = {}
    for name in _FIELDS:
        value = data[name]
        if name in _ENUMS:
            value = _ENUMS[name](value)
        elif name in _DECIMALS and value is not None:
            value = Decimal(value)
        kwargs[name] = value
    return BookOrder(**kwargs)


@dataclass(slots=True)
class SubAccount:
    account_id: str
    totals: dict[str, Decimal]
    open: dict[str, BookOrder] = field(default_factory=dict)
    """Open orders by client id, in creation order."""
    done: dict[str, BookOrder] = field(default_factory=dict)
    """The most recent terminal orders by client id, oldest first (bounded)."""

    def find(self, client_id: str) -> BookOrder | None:
        return self.open.get(client_id) or self.done.get(client_id)

    def locked(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        groups: dict[str, tuple[str, Decimal]] = {}
        for order in self.open.values():
            need = order.requirement()
            if order.oco_group is not None:
                # Both legs sell the same coins; only one of them can ever use them.
                _, held = groups.get(order.oco_group, (order.held_asset, ZERO))
                groups[order.oco_group] = (order.held_asset, max(held, need))
                continue
            out[order.held_asset] = out.get(order.held_asset, ZERO) + need
        for asset, need in groups.values():
            out[asset] = out.get(asset, ZERO) + need
        return out

    def free(self, asset: str) -> Decimal:
        """``totals - locked()`` for one asset, summed in the same order as :meth:`locked`
        (the same value and exponent) without building the other assets' totals: it runs
        for every order the venue checks or fills."""
        total = ZERO
        groups: dict[str, tuple[str, Decimal]] | None = None
        for order in self.open.values():
            group = order.oco_group
            if group is None:
                if order.held_asset == asset:
                    total = total + order.requirement()
                continue
            if groups is None:
                groups = {}
            # The legs of a pair hold the larger of their needs, not the sum: one fills, the
            # other is cancelled.
            need = order.requirement()
            _, held = groups.get(group, (order.held_asset, ZERO))
            groups[group] = (order.held_asset, max(held, need))
        if groups is not None:
            for held_asset, need in groups.values():
                if held_asset == asset:
                    total = total + need
        return self.totals.get(asset, ZERO) - total

    def balances(self) -> dict[str, Balance]:
        locked = self.locked()
        assets = list(self.totals) + [a for a in locked if a not in self.totals]
        return {
            a: Balance(a, self.totals.get(a, ZERO) - locked.get(a, ZERO), locked.get(a, ZERO))
            for a in assets
        }

    def credit(self, asset: str, amount: Decimal) -> None:
        self.totals[asset] = self.totals.get(asset, ZERO) + amount

    def retire(self, order: BookOrder, keep: int) -> None:
        """Move a terminal order to the bounded history used for fetches and idempotency."""
        self.open.pop(order.client_id, None)
        self.done[order.client_id] = order
        while len(self.done) > keep:
            del self.done[next(iter(self.done))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "balances": {a: str(v) for a, v in self.totals.items()},
            "open": [order_to_dict(o) for o in self.open.values()],
            "done": [order_to_dict(o) for o in self.done.values()],
        }

    @classmethod
    def from_dict(cls, account_id: str, data: dict[str, Any]) -> SubAccount:
        acct = cls(account_id, {a: Decimal(v) for a, v in data["balances"].items()})
        acct.open = _by_client(sorted((order_from_dict(d) for d in data["open"]), key=_seq))
        acct.done = _by_client(order_from_dict(d) for d in data["done"])
        return acct


def _seq(order: BookOrder) -> int:
    return order.seq


def _by_client(orders: Iterable[BookOrder]) -> dict[str, BookOrder]:
    return {o.client_id: o for o in orders}
