"""A replay writes tens of thousands of events a second: buffering and flushing keep up."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import sqlalchemy as sa

from rampart.domain.events import EquitySnapshot, FillBooked, OrderUpdated, PositionChanged
from rampart.domain.orders import OrderStatus
from rampart.store import queries as q
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, T0, filled_entry, round_trip

# Generous bounds for a loaded 2-core CI machine; a typical run is several times faster.
FLUSH_BUDGET_S = {"sqlite": 1.0, "postgresql": 3.0}


def test_ten_thousand_rows_flush_in_well_under_a_second(db: sa.Engine, writer: StoreWriter) -> None:
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

    started = time.perf_counter()
    for event in events:
        writer(event)
    buffering = time.perf_counter() - started
    assert writer.pending == 10_000
    assert buffering < 0.5, f"buffering 8,000 events took {buffering:.3f}s"

    started = time.perf_counter()
    written = writer.flush(("replay", T0, {"candles_seen": 2000}))
    elapsed = time.perf_counter() - started

    assert written == 10_001
    budget = FLUSH_BUDGET_S[db.dialect.name]
    assert elapsed < budget, f"flushing 10,000 rows took {elapsed:.3f}s on {db.dialect.name}"
    assert len(q.open_positions(db)) == 2000
    assert len(q.equity_history(db, ACCOUNT)) == 2000
    assert len(q.recent_orders(db, limit=10_000)) == 2000
