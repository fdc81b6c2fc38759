"""The writer's statements are built once per database dialect in a process: a search's
trial after trial opens a writer on one database, and each built and planned them again."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.store import queries as q
from rampart.store.db import open_database
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, filled_entry, stop_order


def test_writers_on_one_database_share_its_statements_and_each_writes_its_rows(
    db: sa.Engine, db_url: str
) -> None:
    first, second = StoreWriter(db), StoreWriter(db)
    assert second._upsert_orders is first._upsert_orders  # built once, planned once
    assert second._inserts is first._inserts

    entry, snapshots, _, _ = filled_entry()
    previous = OrderStatus.NEW
    for snap in snapshots:
        first(OrderUpdated(snap.updated_at, snap, previous))
        previous = snap.status
    first.flush()
    stop = stop_order(entry)
    second(OrderUpdated(stop.updated_at, stop.snapshot(), OrderStatus.NEW))
    second.flush()  # the plans the first writer made, used by the second: the same rows
    stored = {o.client_id: o for o in q.recent_orders(db, ACCOUNT)}
    assert stored[entry.client_id] == entry
    assert stored[stop.client_id] == stop
    assert [t.status for t in q.order_transitions(db, stop.client_id)] == [OrderStatus.NEW]

    other = open_database(db_url)  # another engine: its own dialect, its own statements
    try:
        assert StoreWriter(other)._upsert_orders is not first._upsert_orders
    finally:
        other.dispose()
