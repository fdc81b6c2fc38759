"""JSON-able snapshots of engine state, so a restart continues exactly where it stopped."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.domain.positions import Ledger, Position

_ORDER_ENUMS = {"side": Side, "type": OrderType, "role": OrderRole, "status": OrderStatus}
_ORDER_DECIMALS = {"qty", "price", "stop_price", "filled_qty", "avg_fill_price", "fees"}


def _enc(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value


def order_to_dict(order: Order) -> dict[str, Any]:
    data = {f.name: _enc(getattr(order, f.name)) for f in fields(order) if f.name != "history"}
    data["history"] = [[ts, status.value] for ts, status in order.history]
    return data


def order_from_dict(data: dict[str, Any]) -> Order:
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "history":
            kwargs[key] = [(ts, OrderStatus(s)) for ts, s in value]
        elif key in _ORDER_ENUMS:
            kwargs[key] = _ORDER_ENUMS[key](value)
        elif key in _ORDER_DECIMALS:
            kwargs[key] = None if value is None else Decimal(value)
        else:
            kwargs[key] = value
    return Order(**kwargs)


_POSITION_TEXT = {"symbol", "strategy", "entry_client_id", "last_exit", "last_buy", "last_sell"}
_POSITION_COUNTS = {"opened_at", "entries", "exits"}


def position_to_dict(pos: Position) -> dict[str, Any]:
    return {f.name: _enc(getattr(pos, f.name)) for f in fields(pos)}


def position_from_dict(data: dict[str, Any]) -> Position:
    kwargs: dict[str, Any] = {
        k: (v if k in _POSITION_TEXT else int(v) if k in _POSITION_COUNTS else Decimal(v))
        for k, v in data.items()
    }
    return Position(**kwargs)


def ledger_to_dict(ledger: Ledger) -> dict[str, Any]:
    return {
        "account_id": ledger.account_id,
        "quote": ledger.quote,
        "capital": str(ledger.capital),
        "cash": str(ledger.cash),
        "realized_pnl": str(ledger.realized_pnl),
        "fees_paid": str(ledger.fees_paid),
        "trades_closed": ledger.trades_closed,
        "fills_booked": ledger.fills_booked,
        "positions": [position_to_dict(p) for p in ledger.positions.values()],
        "fee_assets": {a: str(q) for a, q in ledger.fee_assets.items()},
        "fees_elsewhere": str(ledger.fees_elsewhere),
        "dust": {s: str(q) for s, q in ledger.dust.items()},
    }


def ledger_from_dict(data: dict[str, Any]) -> Ledger:
    ledger = Ledger(
        account_id=data["account_id"],
        quote=data["quote"],
        capital=Decimal(data["capital"]),
        cash=Decimal(data["cash"]),
        realized_pnl=Decimal(data["realized_pnl"]),
        fees_paid=Decimal(data["fees_paid"]),
        trades_closed=int(data["trades_closed"]),
        fills_booked=int(data.get("fills_booked", 0)),
        fee_assets={a: Decimal(q) for a, q in data.get("fee_assets", {}).items()},
        fees_elsewhere=Decimal(data.get("fees_elsewhere", "0")),
        dust={s: Decimal(q) for s, q in data.get("dust", {}).items()},
    )
    for raw in data["positions"]:
        pos = position_from_dict(raw)
        ledger.positions[pos.symbol] = pos
    return ledger
