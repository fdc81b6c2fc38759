"""Reads are current to the last candle processed: a trade that closed and the orders that
closed it are in the API before the next candle, while the store still waits for its next
checkpoint (the fixture's is a million candles away)."""

from __future__ import annotations

from rampart.domain.events import OrderUpdated, TradeClosed
from rampart.store import queries
from tests.api.conftest import LiveApi

BASE = "/api/v1/accounts"
MAX_CANDLES = 3000


def test_a_closed_trade_and_its_orders_show_before_the_next_candle(live: LiveApi) -> None:
    closed: list[TradeClosed] = []
    updates: list[OrderUpdated] = []

    def watch(event: object) -> None:
        if isinstance(event, TradeClosed):
            closed.append(event)
        elif isinstance(event, OrderUpdated):
            updates.append(event)

    live.session.bus.subscribe(watch)
    for _ in range(MAX_CANDLES):
        live.trade(1, checkpoint=False)
        if closed:
            break
    assert closed, f"no trade closed in {MAX_CANDLES} candles"
    trade = closed[0].trade
    account = trade.account_id
    who = account if account in live.tokens else "admin"

    # The store does not have it yet: what the API shows comes from the writer's buffer.
    stored = queries.trades(live.session.db, account)
    assert all(t.closed_at != trade.closed_at for t in stored)

    body = live.get(f"{BASE}/{account}/trades", who=who).json()
    newest = body["trades"][0]
    assert (newest["closed_at"], newest["opened_at"], newest["symbol"]) == (
        trade.closed_at,
        trade.opened_at,
        trade.symbol,
    )
    assert len(body["trades"]) == len(stored) + 1  # each trade once, none twice

    latest = {u.order.client_id: u.order for u in updates if u.order.account_id == account}
    on_close = [o for o in latest.values() if o.updated_at == trade.closed_at]
    assert on_close, "the orders that closed the trade"
    orders = live.get(f"{BASE}/{account}/orders", who=who).json()["orders"]
    shown = {o["client_id"]: o["status"] for o in orders}
    for order in on_close:
        assert shown.get(order.client_id) == order.status.value, order.client_id

    # After the checkpoint the same trade is read from the store, still once.
    live.call(live.session.checkpoint)
    again = live.get(f"{BASE}/{account}/trades", who=who).json()["trades"]
    assert len(again) == len(body["trades"])
    assert again[0]["closed_at"] == trade.closed_at
