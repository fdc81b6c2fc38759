"""Domain objects to table rows (plain dicts for Core executemany), one function per kind.

The domain's enums are StrEnums, whose ``str()`` is their value as a plain str: used here
rather than ``.value``, which goes through Enum's property on every row of every event."""

from __future__ import annotations

from typing import Any

from rampart.domain.accounts import AccountSpec
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    CapitalChanged,
    EquitySnapshot,
    FillBooked,
    IntentRejected,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
)
from rampart.domain.intents import Intent
from rampart.domain.orders import Order
from rampart.domain.positions import ClosedTrade, Position

Row = dict[str, Any]
Transition = tuple[str, str, int, str, str]
"""An order transition row: client_id, account_id, ts, previous, status."""
TRANSITION_KEYS = ("client_id", "account_id", "ts", "previous", "status")


def account_row(spec: AccountSpec, state: str, paused: bool, ts: int) -> Row:
    return {
        "account_id": spec.account_id,
        "owner": spec.owner,
        "agent": spec.agent,
        "profile": spec.profile,
        "capital": spec.capital,
        "quote": spec.quote,
        "symbols": list(spec.symbols),
        "state": state,
        "paused": paused,
        "created_at": ts,
        "updated_at": ts,
    }


ORDER_KEYS = (
    "client_id",
    "account_id",
    "symbol",
    "side",
    "type",
    "role",
    "qty",
    "price",
    "stop_price",
    "status",
    "filled_qty",
    "avg_fill_price",
    "fees",
    "venue_order_id",
    "oco_group",
    "parent_id",
    "strategy",
    "reason",
    "created_at",
    "updated_at",
)
"""The ``orders`` columns in table order: :func:`order_values` gives a row's values so."""


def order_values(order: Order) -> tuple[Any, ...]:
    """:func:`order_row`'s values in :data:`ORDER_KEYS` order (no dict per order written)."""
    o = order
    return (
        o.client_id,
        o.account_id,
        o.symbol,
        str(o.side),
        str(o.type),
        str(o.role),
        o.qty,
        o.price,
        o.stop_price,
        str(o.status),
        o.filled_qty,
        o.avg_fill_price,
        o.fees,
        o.venue_order_id,
        o.oco_group,
        o.parent_id,
        o.strategy,
        o.reason,
        o.created_at,
        o.updated_at,
    )


def order_row(order: Order) -> Row:
    return {
        "client_id": order.client_id,
        "account_id": order.account_id,
        "symbol": order.symbol,
        "side": str(order.side),
        "type": str(order.type),
        "role": str(order.role),
        "qty": order.qty,
        "price": order.price,
        "stop_price": order.stop_price,
        "status": str(order.status),
        "filled_qty": order.filled_qty,
        "avg_fill_price": order.avg_fill_price,
        "fees": order.fees,
        "venue_order_id": order.venue_order_id,
        "oco_group": order.oco_group,
        "parent_id": order.parent_id,
        "strategy": order.strategy,
        "reason": order.reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def transition_row(event: OrderUpdated) -> Transition:
    """What the writer buffers for an order event (it builds the same tuple inline)."""
    order = event.order
    return (order.client_id, order.account_id, event.ts, str(event.previous), str(order.status))


def fill_row(event: FillBooked) -> Row:
    fill = event.fill
    return {
        "fill_id": fill.fill_id,
        "client_id": fill.client_id,
        "account_id": fill.account_id,
        "symbol": fill.symbol,
        "side": str(fill.side),
        "qty": fill.qty,
        "price": fill.price,
        "fee": fill.fee,
        "liquidity": str(fill.liquidity),
        "role": event.role,
        "strategy": event.strategy,
        "ts": fill.ts,
    }


def position_row(account_id: str, symbol: str, pos: Position, ts: int) -> Row:
    """The event's (account, symbol) is the row's key, the same key a close deletes."""
    return {
        "account_id": account_id,
        "symbol": symbol,
        "strategy": pos.strategy,
        "qty": pos.qty,
        "avg_price": pos.avg_price,
        "stop_loss": pos.stop_loss,
        "take_profit": pos.take_profit,
        "entry_client_id": pos.entry_client_id,
        "opened_at": pos.opened_at,
        "realized_gross": pos.realized_gross,
        "entry_fees": pos.entry_fees,
        "exit_fees": pos.exit_fees,
        "bought_qty": pos.bought_qty,
        "bought_value": pos.bought_value,
        "sold_qty": pos.sold_qty,
        "sold_value": pos.sold_value,
        "initial_stop": pos.initial_stop,
        "updated_at": ts,
        "entries": pos.entries,
        "exits": pos.exits,
        "last_buy": pos.last_buy,
        "last_sell": pos.last_sell,
    }


def trade_row(trade: ClosedTrade) -> Row:
    return {
        "account_id": trade.account_id,
        "symbol": trade.symbol,
        "strategy": trade.strategy,
        "entry_client_id": trade.entry_client_id,
        "opened_at": trade.opened_at,
        "closed_at": trade.closed_at,
        "qty": trade.qty,
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "gross_pnl": trade.gross_pnl,
        "fees": trade.fees,
        "pnl": trade.pnl,
        "exit_reason": trade.exit_reason,
        "stop_loss": trade.stop_loss,
        "take_profit": trade.take_profit,
        "risk": trade.risk,
        "final_stop": trade.final_stop,
        "entries": trade.entries,
        "exits": trade.exits,
    }


def equity_row(event: EquitySnapshot) -> Row:
    return {
        "account_id": event.account_id,
        "ts": event.ts,
        "cash": event.cash,
        "positions_value": event.positions_value,
        "equity": event.equity,
        "realized_pnl": event.realized_pnl,
    }


def intent_row(intent: Intent, ts: int, trace: str | None = None) -> Row:
    return {
        "client_id": trace,
        "account_id": intent.account_id,
        "symbol": intent.symbol,
        "side": str(intent.side),
        "action": str(intent.action),
        "entry_price": intent.entry_price,
        "stop_loss": intent.stop_loss,
        "take_profit": intent.take_profit,
        "size_hint": intent.size_hint,
        "confidence": float(intent.confidence),
        "rationale": intent.rationale,
        "agent": intent.agent,
        # The intent's own ts is when the agent decided; the event's is the fallback.
        "ts": intent.ts or ts,
    }


def rejection_row(event: IntentRejected) -> Row:
    intent = event.intent
    return {
        "account_id": intent.account_id,
        "symbol": intent.symbol,
        "agent": intent.agent,
        "side": str(intent.side),
        "code": event.code,
        "message": event.message,
        "entry_price": intent.entry_price,
        "stop_loss": intent.stop_loss,
        "take_profit": intent.take_profit,
        "ts": event.ts,
    }


def _account_event(
    scope: str,
    kind: str,
    old: str,
    new: str,
    reason: str,
    actor: str,
    ts: int,
    flatten: bool = False,
) -> Row:
    return {
        "scope": scope,
        "kind": kind,
        "old": old,
        "new": new,
        "reason": reason,
        "actor": actor,
        "flatten": flatten,
        "ts": ts,
    }


SYSTEM = "system"
"""The actor recorded for what the engine did on its own (breakers, invariant checks)."""


def state_event_row(event: AccountStateChanged) -> Row:
    return _account_event(
        event.account_id,
        "state",
        event.old.value,
        event.new.value,
        event.reason,
        SYSTEM,
        event.ts,
    )


def breaker_event_row(event: BreakerTripped) -> Row:
    return _account_event(
        event.account_id, "breaker", "", event.breaker, event.message, SYSTEM, event.ts
    )


def capital_event_row(event: CapitalChanged) -> Row:
    return _account_event(
        event.account_id,
        "capital",
        str(event.old),
        str(event.new),
        f"capital {event.old} → {event.new}",
        event.actor,
        event.ts,
    )


def kill_switch_event_row(event: KillSwitchChanged) -> Row:
    new = "engaged" if event.engaged else "released"
    return _account_event(
        event.scope, "kill_switch", "", new, event.reason, event.actor, event.ts, event.flatten
    )


def invariant_event_row(event: InvariantViolated) -> Row:
    return _account_event(
        event.account_id, "invariant", "", event.invariant, event.detail, SYSTEM, event.ts
    )
