"""A replay buffers thousands of events between checkpoints: one flush writes them all, in one
transaction with the checkpoint. (How fast is measured by bench/replay.py, not here.)"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import sqlalchemy as sa

from rampart.domain.events import EquitySnapshot, FillBooked, OrderUpdated, PositionChanged
from rampart.domain.orders import OrderStatus
from rampart.store import queries as q
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, T0, filled_entry, round_trip


def test_ten_thousand_buffered_rows_are_written_by_one_flush(
    db: sa.Engine, writer: StoreWriter
) -> None:
    order, _, fill, _ = filled_entry()
    position, _ = round_trip()
    events: list[object] = []
    for i in range(2000):
        events.append(OrderUpdated(T0 + i, replace(order, client_id=f"o-{i}"), OrderStatus.NEW))
        events.append(FillBooked(T0 + i, replace(fill, fill_id=f"f-{i}"), "entry", "breakout"))
        symbol = f"C{i}/BTC"
        events.append(PositionChanged(T0 + i, ACCOUNT, symbol, replace(position, symbol=symbol)))
        events.append(
            EquitySnapshot(T0 + i, ACCOUNT, Decimal("1.25"), Decimal(i), Decimal(i) + 1, Decimal(0))
        )

    for event in events:
        writer(event)
    assert writer.pending == 10_000
    assert q.recent_orders(db, limit=10) == [], "nothing is written before the flush"

    written = writer.flush(("replay", T0, {"candles_seen": 2000}))

    assert written == 10_001
    assert writer.pending == 0
    assert len(q.open_positions(db)) == 2000
    assert len(q.equity_history(db, ACCOUNT)) == 2000
    assert len(q.recent_orders(db, limit=10_000)) == 2000
