"""What a :class:`~rampart_testkit.simulator.exchange.SimExchange` holds, as plain data: its
counters, each account's balances, open orders and trades, and the last prices (``GET
/admin/state``, the soak harness, tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rampart.venues.book import BookOrder
    from rampart_testkit.simulator.exchange import SimExchange


def snapshot(ex: SimExchange) -> dict[str, Any]:
    """Counts, balances and open orders per account (for tests and the soak harness)."""
    accounts: dict[str, Any] = {}
    for acct in ex.keys.values():
        sub = ex.sub(acct.account_id)
        accounts[acct.account_id] = {
            "balances": {
                a: {"free": str(b.free), "locked": str(b.locked)} for a, b in sub.balances().items()
            },
            "open_orders": [_order_state(o) for o in sub.open.values()],
            "trades": len(ex.trades[acct.account_id]),
        }
    c = ex.counters
    return {
        "time": ex.now_ms,
        "steps": ex.tape.steps,
        "exhausted": ex.tape.exhausted,
        "orders": c.orders,
        "rejections": c.rejections,
        "fills": c.fills,
        "cancels": c.cancels,
        "order_lists": c.order_lists,
        "open_orders": sum(len(ex.sub(a.account_id).open) for a in ex.keys.values()),
        "prices": {s: str(ex.last_price(s)) for s in ex.core.instruments},
        "accounts": accounts,
    }


def _order_state(order: BookOrder) -> dict[str, Any]:
    return {
        "client_id": order.client_id,
        "order_id": order.seq,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "qty": str(order.qty),
        "filled_qty": str(order.filled_qty),
        "price": None if order.price is None else str(order.price),
        "stop_price": None if order.stop_price is None else str(order.stop_price),
        "status": order.status.value,
        "oco_group": order.oco_group,
    }
