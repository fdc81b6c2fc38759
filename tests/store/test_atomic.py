"""A flush is all-or-nothing: rows and checkpoint land together or not at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.domain.events import (
    EquitySnapshot,
    FillBooked,
    OrderUpdated,
    PositionChanged,
    ReconciliationRepaired,
    TradeClosed,
)
from rampart.domain.orders import OrderStatus
from rampart.store import models as m
from rampart.store import queries as q
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, SYMBOL, T0, filled_entry, round_trip, spec


def _counts(db: sa.Engine) -> dict[str, int]:
    with db.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in m.metadata.sorted_tables
        }


def test_a_failing_row_late_in_the_flush_rolls_back_everything(
    db: sa.Engine, writer: StoreWriter
) -> None:
    position, trade = round_trip()
    writer.upsert_account(spec(), "active", False, T0)
    writer(TradeClosed(trade.closed_at, trade))
    writer.flush(("replay", T0, {"candles_seen": 100}))
    before = _counts(db)

    _, snapshots, first, second = filled_entry()
    for snap in snapshots:
        writer(OrderUpdated(snap.updated_at, snap, OrderStatus.NEW))
    writer(FillBooked(first.ts, first, "entry", "breakout"))
    writer(FillBooked(second.ts, second, "entry", "breakout"))
    writer(PositionChanged(T0 + 30, ACCOUNT, SYMBOL, position))
    writer.upsert_account(spec(capital="99"), "halted", True, T0 + 40)
    # Repairs are written after orders, fills, trades, positions and accounts: one without its
    # words breaks a NOT NULL constraint when most of the batch is already in the transaction.
    # (A duplicate trade once did; a trade written twice now lands once.)
    writer(ReconciliationRepaired(T0 + 50, ACCOUNT, "fill_booked", None, SYMBOL, None))  # type: ignore[arg-type]
    pending = writer.pending

    with pytest.raises(StoreError) as caught:
        writer.flush(("replay", T0 + 60, {"candles_seen": 200}))

    message = caught.value.message
    assert message.startswith(f"Saving {pending} buffered rows and checkpoint 'replay' failed")
    assert "nothing was saved" in message
    assert "\n" not in message
    assert _counts(db) == before
    assert q.load_checkpoint(db, "replay") == (T0, {"candles_seen": 100})
    assert q.recent_orders(db) == []
    [account] = q.list_accounts(db)
    assert (account.capital, account.state, account.paused) == (Decimal("10.5"), "active", False)
    assert writer.stats.failed_flushes == 1
    assert writer.stats.flushes == 1
    # The batch is kept for a retry; once the bad row is dropped the rest can be written.
    assert writer.pending == pending
    assert writer.discard() == pending
    assert writer.pending == 0


def test_a_value_that_is_not_money_fails_the_flush_and_changes_nothing(
    db: sa.Engine, writer: StoreWriter
) -> None:
    writer(EquitySnapshot(T0, ACCOUNT, Decimal(1), Decimal(0), Decimal(1), Decimal(0)))
    writer(EquitySnapshot(T0 + 1, ACCOUNT, Decimal("NaN"), Decimal(0), Decimal(1), Decimal(0)))
    with pytest.raises(StoreError, match="not a finite amount of money"):
        writer.flush(("replay", T0, {}))
    assert q.equity_history(db, ACCOUNT) == []
    assert q.load_checkpoint(db, "replay") is None


def test_a_payload_that_is_not_json_fails_the_flush_and_changes_nothing(
    db: sa.Engine, writer: StoreWriter
) -> None:
    writer(EquitySnapshot(T0, ACCOUNT, Decimal(1), Decimal(0), Decimal(1), Decimal(0)))
    with pytest.raises(StoreError, match="checkpoint 'replay' failed"):
        writer.flush(("replay", T0, {"cash": Decimal("1.5")}))
    assert q.equity_history(db, ACCOUNT) == []
    assert q.load_checkpoint(db, "replay") is None
    writer.flush(("replay", T0, {"cash": "1.5"}))
    assert q.equity_history(db, ACCOUNT) == [(T0, Decimal(1))]


def test_upsert_account_refuses_an_unknown_state(writer: StoreWriter) -> None:
    with pytest.raises(
        StoreError,
        match=r"^'sleeping' is not a trading state; use one of active, reducing, halted\.$",
    ):
        writer.upsert_account(spec(), "sleeping", False, T0)
    assert writer.pending == 0


def test_a_batch_written_off_the_loop_and_refused_goes_back_under_newer_rows(
    db: sa.Engine, writer: StoreWriter
) -> None:
    entry, transitions, fill, _ = filled_entry()
    writer.upsert_account(spec(), "active", False, T0)
    writer(OrderUpdated(T0, transitions[0], OrderStatus.NEW))
    writer(FillBooked(T0 + 1, fill, "entry", "trend"))
    older = writer.detach()
    assert writer.pending == 0 and older.size == 4  # account, order, transition, fill

    # While the detached batch is being written, the order moves on and more rows arrive.
    writer(OrderUpdated(T0 + 2, entry, transitions[0].status))
    writer(EquitySnapshot(T0 + 3, ACCOUNT, Decimal("1"), Decimal("2"), Decimal("3"), Decimal(0)))
    broken = StoreWriter(sa.create_engine("sqlite:///file:nowhere?mode=ro&uri=true"))
    with pytest.raises(StoreError):
        broken.write(older)

    writer.restore(older)
    # The order is buffered once, in its newer state; the logs keep both batches' rows.
    assert writer.pending == 6
    assert writer.flush() == 6
    orders = q.recent_orders(db, ACCOUNT)
    assert [(o.client_id, o.status) for o in orders] == [(entry.client_id, entry.status)]
    assert len(q.recent_fills(db, ACCOUNT)) == 1
    assert len(q.equity_history(db, ACCOUNT)) == 1


def test_an_account_changed_before_its_first_save_keeps_when_it_began(
    db: sa.Engine, writer: StoreWriter
) -> None:
    """A pause or resume buffered before the account's first save replaced its buffered row,
    creation time included: /daily then said "Your account began on" the day of the pause."""
    writer.upsert_account(spec(), "active", False, T0)
    writer.upsert_account(spec(), "active", True, T0 + 86_400_000)
    writer.flush(("replay", T0 + 86_400_000, {"candles_seen": 1}))
    assert q.account_created(db, ACCOUNT) == T0
    writer.upsert_account(spec(), "active", False, T0 + 2 * 86_400_000)
    writer.flush(("replay", T0 + 2 * 86_400_000, {"candles_seen": 2}))
    assert q.account_created(db, ACCOUNT) == T0  # the stored row keeps it too
