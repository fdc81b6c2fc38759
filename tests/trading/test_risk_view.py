"""What the engine tells the risk engine about an account (``trading/risk_view.py``): the cash
its working buys hold, taker fee included, and the entries still working."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.orders import Order, OrderRole, OrderType, Side

from .helpers import SYMBOL, ScriptedAgent, build

D = Decimal


def _working_buy(client_id: str, qty: str, price: str, filled: str = "0") -> Order:
    order = Order(
        client_id=client_id,
        account_id="a1",
        symbol=SYMBOL,
        side=Side.BUY,
        type=OrderType.LIMIT,
        qty=D(qty),
        role=OrderRole.ENTRY,
        price=D(price),
    )
    order.filled_qty = D(filled)
    return order


def test_working_buys_hold_their_remaining_cost_with_the_taker_fee() -> None:
    engine, _venue, _clock, _bus = asyncio.run(build(ScriptedAgent(lambda i, view: [])))
    acct = engine.accounts["a1"]
    for order in (_working_buy("e1", "2", "100"), _working_buy("e2", "3", "50", filled="1")):
        acct.orders[order.client_id] = order

    ctx = engine.risk_context(acct, SYMBOL, 0)

    # 2 × 100 and the 2 left of 3 × 50, each with the 0.1 % taker fee, held from 10,000.
    held = (D(2) * D(100) + D(2) * D(50)) * D("1.001")
    assert ctx.free_cash == D(10_000) - held
    assert ctx.working_qty == D(4)
    assert ctx.working_value == D(300)
    assert ctx.open_positions == 2  # two entries working, no position yet
    assert ctx.taker_fee == D("0.001")
