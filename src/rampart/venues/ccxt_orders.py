"""The orders a remote venue sent and has not yet seen finish: what poll() and reconciliation ask
the exchange about.

A :class:`Tracked` order remembers what the engine has already been told (filled quantity,
trade ids), so every fill is reported exactly once however many times it is seen, and
whether its create is still unconfirmed (``unknown``) or its cancel must be sent again. The
tracker is saved in the engine's checkpoint, so a restarted process keeps asking about the
orders it sent before it stopped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderType, Side


@dataclass(slots=True)
class Tracked:
    client_id: str
    account_id: str
    symbol: str
    side: Side
    qty: Decimal
    sent_ts: int
    venue_order_id: str | None = None
    filled: Decimal = ZERO
    """Quantity already reported to the engine as fills."""
    trade_ids: set[str] = field(default_factory=set)
    unknown: bool = False
    """The create was not confirmed: resolve by looking the client order id up."""
    acknowledged: bool = False
    """The exchange has been seen holding this order at least once."""
    cancel_wanted: bool = False
    """A cancel was asked for but not confirmed: send it again while the order is open."""
    local: bool = False
    """Held by this adapter, never sent (a take-profit or bracket the exchange cannot rest)."""
    trigger_above: Decimal | None = None
    """For a local take-profit: sell at market once the last price reaches this."""
    partner: str | None = None
    """The other leg of an OCO pair (native or emulated)."""
    misses: int = 0
    """Polls in a row in which the exchange could not find this acknowledged order."""
    sent_wall: float = 0.0
    """Monotonic wall time of the send: the exchange's receive window runs on real time even
    when the Clock is simulated (not saved; a restored order counts from its restore)."""
    algo: bool = False
    """A stop order: Binance counts it toward the symbol's MAX_NUM_ALGO_ORDERS."""
    market: bool = False
    """A market order: it trades as the book allows, in many trades over seconds, and is
    followed between candles until it ends (:func:`under_way`)."""

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled

    def as_booked(self, filled: Decimal, fill_ids: Iterable[str]) -> None:
        """The books hold ``filled`` of this order, these fills (``client_id:trade_id``) among
        it. A tracker ahead of them (a checkpoint saved between a report and its booking, then
        restored) forgets the trades they lack, so that the next poll reports them again: left
        ahead, it had "seen" them and they were never booked."""
        booked = {fill_id.rsplit(":", 1)[-1] for fill_id in fill_ids}
        if self.filled > filled:
            self.filled = filled
            self.trade_ids &= booked
        self.trade_ids |= booked

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "qty": str(self.qty),
            "sent_ts": self.sent_ts,
            "venue_order_id": self.venue_order_id,
            "filled": str(self.filled),
            "trade_ids": sorted(self.trade_ids),
            "unknown": self.unknown,
            "acknowledged": self.acknowledged,
            "cancel_wanted": self.cancel_wanted,
            "local": self.local,
            "trigger_above": None if self.trigger_above is None else str(self.trigger_above),
            "partner": self.partner,
            "algo": self.algo,
            "market": self.market,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tracked:
        trigger = data.get("trigger_above")
        return cls(
            client_id=str(data["client_id"]),
            account_id=str(data["account_id"]),
            symbol=str(data["symbol"]),
            side=Side(data["side"]),
            qty=Decimal(data["qty"]),
            sent_ts=int(data["sent_ts"]),
            venue_order_id=data.get("venue_order_id"),
            filled=Decimal(data.get("filled", "0")),
            trade_ids=set(data.get("trade_ids", [])),
            unknown=bool(data.get("unknown", False)),
            acknowledged=bool(data.get("acknowledged", False)),
            cancel_wanted=bool(data.get("cancel_wanted", False)),
            local=bool(data.get("local", False)),
            trigger_above=None if trigger is None else Decimal(trigger),
            partner=data.get("partner"),
            algo=bool(data.get("algo", False)),
            market=bool(data.get("market", False)),
        )


def under_way(t: Tracked) -> bool:
    """An order whose news cannot wait for the next candle: a market order not finished, any
    order partly filled (each trade is booked, and its stop grown, within seconds of the
    exchange making it), or a create or cancel not confirmed. A leg held here, or an order
    resting untouched, is followed at the candle's pace."""
    if t.local:
        return False
    return t.unknown or t.cancel_wanted or t.market or ZERO < t.filled < t.qty


class OrderTracker:
    def __init__(self) -> None:
        self.orders: dict[str, Tracked] = {}
        """Open (or unresolved) orders by client id. Client ids embed the account, so they
        are unique across accounts."""

    def __len__(self) -> int:
        return len(self.orders)

    def add(
        self, order: Order, now_ms: int, wall_s: float = 0.0, *, local: bool = False
    ) -> Tracked:
        tracked = self.orders.get(order.client_id)
        if tracked is None:
            tracked = Tracked(
                client_id=order.client_id,
                account_id=order.account_id,
                symbol=order.symbol,
                side=order.side,
                qty=order.qty,
                sent_ts=now_ms,
                local=local,
                sent_wall=wall_s,
                algo=order.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT),
                market=order.type is OrderType.MARKET,
            )
            self.orders[order.client_id] = tracked
        return tracked

    def get(self, client_id: str) -> Tracked | None:
        return self.orders.get(client_id)

    def drop(self, client_id: str) -> Tracked | None:
        return self.orders.pop(client_id, None)

    def for_account(self, account_id: str | None = None) -> list[Tracked]:
        return [t for t in self.orders.values() if account_id is None or t.account_id == account_id]

    def by_account_symbol(self) -> dict[tuple[str, str], list[Tracked]]:
        groups: dict[tuple[str, str], list[Tracked]] = defaultdict(list)
        for tracked in self.orders.values():
            groups[(tracked.account_id, tracked.symbol)].append(tracked)
        return dict(groups)

    def by_venue_id(self, account_id: str, venue_order_id: str) -> Tracked | None:
        for tracked in self.orders.values():
            if tracked.account_id == account_id and tracked.venue_order_id == venue_order_id:
                return tracked
        return None

    def on_exchange(self, account_id: str, symbol: str) -> tuple[int, int]:
        """(orders, stop orders) sent to the exchange for this account and symbol and not yet
        seen finish: what its MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS count."""
        orders = stops = 0
        for t in self.orders.values():
            if t.account_id == account_id and t.symbol == symbol and not t.local:
                orders += 1
                stops += t.algo
        return orders, stops

    def __iter__(self) -> Iterator[Tracked]:
        return iter(list(self.orders.values()))

    def snapshot(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.orders.values()]

    def load(self, data: list[dict[str, Any]], wall_s: float = 0.0) -> None:
        self.orders = {t.client_id: t for t in map(Tracked.from_dict, data)}
        for tracked in self.orders.values():
            tracked.sent_wall = wall_s
