"""Read-side edge cases: bad arguments and a broken database give one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.domain.events import OrderUpdated
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
