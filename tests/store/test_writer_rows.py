"""What the writer buffers for the events the other store tests do not send (a capital change,
an invariant broken, a reconciliation's repair, a live candle's close): each row as read back
from the store, and the cheap bound on the buffer's size still above what is buffered, so
``over_limit`` says when the limit is passed (issue 55, the survivors of ``make mutate
AREA=fencing`` in ``store/writer.py``)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from rampart.domain.events import CapitalChanged, Event, InvariantViolated, ReconciliationRepaired
from rampart.store import models as m
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, T0

D = Decimal


def _events() -> list[Event]:
    return [
        CapitalChanged(T0, ACCOUNT, D(10000), D(12500), "alice"),
        InvariantViolated(T0 + 1, ACCOUNT, "protected", "BTC/USDT held 2 without a stop"),
        ReconciliationRepaired(
            T0 + 2, ACCOUNT, "external_fill_booked", "c-7", "BTC/USDT", "8 sold outside"
        ),
        ReconciliationRepaired(T0 + 3, ACCOUNT, "balance_adjusted", None, None, "cash set"),
    ]


def _read(db: sa.Engine, table: sa.Table) -> list[tuple[object, ...]]:
    cols = [c for c in table.c if c.name != "id"]
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*cols).order_by(table.c.id))]


def test_capital_invariant_and_repair_rows_are_written_as_they_happened(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    for event in _events():
        writer(event)
    assert writer.pending == 4
    writer.flush()
    assert _read(db, m.account_events) == [
        (ACCOUNT, "capital", "10000", "12500", "capital 10000 → 12500", "alice", False, T0),
        (
            ACCOUNT,
            "invariant",
            "",
            "protected",
            "BTC/USDT held 2 without a stop",
            "system",
            False,
            T0 + 1,
        ),
    ]
    assert _read(db, m.reconciliation_repairs) == [
        (T0 + 2, ACCOUNT, "external_fill_booked", "c-7", "BTC/USDT", "8 sold outside"),
        (T0 + 3, ACCOUNT, "balance_adjusted", None, None, "cash set"),
    ]


def test_over_limit_counts_these_events_and_candle_closes(db: sa.Engine) -> None:
    for limit in range(0, 8):
        writer = StoreWriter(db, max_unsaved=limit)
        for event in _events():
            writer(event)
            assert writer.over_limit == (writer.pending > limit), (limit, event)
        for hour in range(4):
            writer.record_close("BTC/USDT", T0 + hour * 3_600_000, 100.0 + hour)
            assert writer.over_limit == (writer.pending > limit), (limit, hour)
