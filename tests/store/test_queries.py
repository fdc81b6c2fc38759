"""Read-side edge cases: bad arguments and a broken database give one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.domain.events import OrderUpdated, TradeClosed
from rampart.domain.orders import OrderStatus
from rampart.store import queries as q
from rampart.store.writer import StoreWriter
from rampart.trading.bus import EventBus

from .factories import ACCOUNT, T0, entry_order


@pytest.mark.parametrize("limit", [0, -1, 10_001, 2.5, True])
def test_a_bad_limit_is_refused(db: sa.Engine, limit: object) -> None:
    with pytest.raises(StoreError, match="The limit must be a whole number from 1 to 10,000"):
        q.recent_orders(db, limit=limit)  # type: ignore[arg-type]


def test_reading_a_database_without_the_tables_is_explained(tmp_path: Path) -> None:
    bare = sa.create_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    try:
        with pytest.raises(StoreError) as caught:
            q.list_accounts(bare)
    finally:
        bare.dispose()
    assert caught.value.message.startswith("Reading accounts from the database failed: ")
    assert "accounts" in caught.value.message
    assert "\n" not in caught.value.message


def test_empty_database_reads_are_empty(db: sa.Engine) -> None:
    assert q.list_accounts(db) == []
    assert q.recent_orders(db) == []
    assert q.open_positions(db) == []
    assert q.recent_rejections(db) == []
    assert q.trades(db) == []
    assert q.equity_history(db, ACCOUNT) == []
    assert q.load_checkpoint(db, "replay") is None


def test_the_writer_persists_what_the_event_bus_publishes(db: sa.Engine) -> None:
    bus = EventBus()
    writer = StoreWriter(db)
    bus.subscribe(writer)
    order = entry_order()
    bus.publish(OrderUpdated(T0, order.snapshot(), OrderStatus.NEW))
    order.transition(OrderStatus.SUBMITTED, T0 + 5)
    bus.publish(OrderUpdated(T0 + 5, order.snapshot(), OrderStatus.NEW))
    order.transition(OrderStatus.REJECTED, T0 + 6, "insufficient balance")
    bus.publish(OrderUpdated(T0 + 6, order.snapshot(), OrderStatus.SUBMITTED))
    writer.flush()
    [stored] = q.recent_orders(db)
    # Registration is logged but is not part of the state machine's history.
    assert stored.history == [(T0 + 5, OrderStatus.SUBMITTED), (T0 + 6, OrderStatus.REJECTED)]
    assert stored == order
    assert len(q.order_transitions(db, order.client_id)) == 3


def test_a_limit_reads_the_newest_trades_and_equity_points(db: sa.Engine) -> None:
    """``limit`` keeps the newest rows, in the order each read gives (trades newest first, the
    equity curve oldest first), and the statement itself carries it."""
    import dataclasses

    from rampart.store import models as m

    from .factories import round_trip

    _, trade = round_trip()
    with db.begin() as conn:
        for i in range(5):
            conn.execute(
                m.equity_snapshots.insert(),
                {"account_id": ACCOUNT, "ts": T0 + i, "cash": "1", "positions_value": "0",
                 "equity": str(100 + i), "realized_pnl": "0"},
            )  # fmt: skip
    writer = StoreWriter(db)
    for i in range(4):
        closed = dataclasses.replace(trade, closed_at=T0 + 10 + i, entry_client_id=f"e{i}")
        writer(TradeClosed(closed.closed_at, closed))
    writer.flush()
    sent: list[str] = []
    sa.event.listen(db, "before_cursor_execute", lambda *a: sent.append(a[2]))
    newest = q.trades(db, ACCOUNT, limit=2)
    assert [t.closed_at for t in newest] == [T0 + 13, T0 + 12]
    assert [t.closed_at for t in q.trades(db, ACCOUNT)] == [T0 + 13, T0 + 12, T0 + 11, T0 + 10]
    curve = q.equity_history(db, ACCOUNT, limit=3)
    assert [(p.ts, p.equity) for p in curve] == [(T0 + i, 100 + i) for i in (2, 3, 4)]
    assert [p.ts for p in q.equity_history(db, ACCOUNT, since_ts=T0 + 3, limit=10)] == [
        T0 + 3,
        T0 + 4,
    ]
    assert "LIMIT" in sent[0].upper() and "LIMIT" in sent[2].upper()
