"""What the writer buffers for the events the other store tests do not send (a capital change,
an invariant broken, a reconciliation's repair, a live candle's close): each row as read back
from the store, and the cheap bound on the buffer's size still above what is buffered, so
``over_limit`` says when the limit is passed (the survivors of ``make mutate
AREA=fencing`` in ``store/writer.py``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    CapitalChanged,
    EquitySnapshot,
    Event,
    FillBooked,
    IntentProposed,
    IntentRejected,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
    PositionChanged,
    ReconciliationRepaired,
    TradeClosed,
)
from rampart.domain.orders import OrderStatus
from rampart.store import models as m
from rampart.store.errors import StoreError
from rampart.store.models.audit import audit_log
from rampart.store.writer import StoreWriter

from .factories import ACCOUNT, SYMBOL, T0, filled_entry, intent, round_trip, spec

D = Decimal


def _events() -> list[Event]:
    return [
        CapitalChanged(T0, ACCOUNT, D(10000), D(12500), "alice"),
        InvariantViolated(T0 + 1, ACCOUNT, "protected", "BTC/USDT held 2 without a stop"),
        ReconciliationRepaired(
            T0 + 2, ACCOUNT, "external_fill_booked", "c-7", "BTC/USDT", "8 sold outside"
        ),
        ReconciliationRepaired(T0 + 3, ACCOUNT, "balance_adjusted", None, None, "cash set"),
        # An intent without its own time takes the event's; the trace is its entry's id.
        IntentProposed(T0 + 4, intent(ts=0), "c-8"),
        IntentRejected(T0 + 5, intent(ts=T0), "max_open_positions", "Too many open."),
    ]


def test_a_state_and_a_pause_after_the_accounts_upsert_in_one_batch_are_written(
    db: sa.Engine,
) -> None:
    """The account's row is buffered (its settings changed) and in the same batch a breaker
    halts it and the operator pauses it: the row written carries both, with their time."""
    writer = StoreWriter(db)
    writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
    writer(AccountStateChanged(T0 + 1, ACCOUNT, TradingState.ACTIVE, TradingState.HALTED, "dd"))
    writer(KillSwitchChanged(T0 + 2, ACCOUNT, True, "review", "ops"))
    writer.flush()
    a = m.accounts.c
    with db.connect() as conn:
        row = conn.execute(sa.select(a.state, a.paused, a.updated_at)).one()
    assert tuple(row) == ("halted", True, T0 + 2)
    writer.upsert_account(spec(), TradingState.HALTED, True, T0 + 3)
    writer(AccountStateChanged(T0 + 4, ACCOUNT, TradingState.HALTED, TradingState.ACTIVE, "ok"))
    writer.flush()
    with db.connect() as conn:
        row = conn.execute(sa.select(a.state, a.paused, a.updated_at)).one()
    assert tuple(row) == ("active", True, T0 + 4)


def test_an_upsert_after_a_pause_in_one_batch_is_the_latest_truth(db: sa.Engine) -> None:
    """A pause and a breaker's state buffered, then the account's row upserted resumed and
    active (newer): the row keeps the upsert's values, the older ones are not applied over it."""
    writer = StoreWriter(db)
    writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
    writer.flush()
    writer(KillSwitchChanged(T0 + 1, ACCOUNT, True, "review", "ops"))
    writer(AccountStateChanged(T0 + 1, ACCOUNT, TradingState.ACTIVE, TradingState.HALTED, "dd"))
    writer.upsert_account(spec(), TradingState.ACTIVE, False, T0 + 2)
    writer.flush()
    a = m.accounts.c
    with db.connect() as conn:
        row = conn.execute(sa.select(a.state, a.paused, a.updated_at)).one()
    assert tuple(row) == ("active", False, T0 + 2)


def test_the_global_kill_switch_is_logged_and_pauses_no_account_row(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    writer(KillSwitchChanged(T0, "global", True, "exchange outage", "ops"))
    assert writer.pending == 1  # its log row only
    assert writer.flush() == 1


def test_facade_entries_without_an_audit_log_are_not_written(db: sa.Engine) -> None:
    writer = StoreWriter(db, audit=False)
    writer.facade_entry(T0, "ops", "operator.pause", ACCOUNT, {})
    writer.write_facade(writer.take_facade())  # nothing to append to: no error
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar() == 0


def _read(db: sa.Engine, table: sa.Table) -> list[tuple[object, ...]]:
    cols = [c for c in table.c if c.name != "id"]
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*cols).order_by(table.c.id))]


def test_capital_invariant_and_repair_rows_are_written_as_they_happened(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    for event in _events():
        writer(event)
    assert writer.pending == 6
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
    with db.connect() as conn:
        proposed = conn.execute(sa.select(m.intents.c.client_id, m.intents.c.ts)).all()
        refused = conn.execute(sa.select(m.rejections.c.code, m.rejections.c.ts)).all()
    assert [tuple(r) for r in proposed] == [("c-8", T0 + 4)]
    assert [tuple(r) for r in refused] == [("max_open_positions", T0 + 5)]


def test_over_limit_counts_these_events_and_candle_closes(db: sa.Engine) -> None:
    # Twice over: each kind of event also arrives with rows already buffered.
    position, trade = round_trip()
    _, _, fill, _ = filled_entry()
    events = [
        *_events(),
        TradeClosed(T0 + 6, trade),
        FillBooked(T0 + 7, fill, "entry", "trend"),
        PositionChanged(T0 + 8, ACCOUNT, SYMBOL, position),
    ]
    for limit in range(0, 24):
        writer = StoreWriter(db, max_unsaved=limit)
        for event in events * 2:
            writer(event)
            assert writer.over_limit == (writer.pending > limit), (limit, event)
        for hour in range(4):
            writer.record_close("BTC/USDT", T0 + hour * 3_600_000, 100.0 + hour)
            assert writer.over_limit == (writer.pending > limit), (limit, hour)
            writer.upsert_account(spec(f"acct-{hour}"), TradingState.ACTIVE, False, T0)
            assert writer.over_limit == (writer.pending > limit), (limit, hour)
            writer.facade_entry(T0 + hour, "ops", "operator.pause", ACCOUNT, {})
            assert writer.over_limit == (writer.pending > limit), (limit, hour)


def test_a_batch_put_back_after_a_failed_write_is_no_longer_being_written(db: sa.Engine) -> None:
    def refuse(conn: sa.Connection) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))

    writer = StoreWriter(db, fence=refuse)
    for event in _events():
        writer(event)
    for tries in (1, 2):
        with pytest.raises(StoreError):
            writer.flush()
        assert writer.stats.failed_flushes == tries
    assert writer.pending == 6  # kept for the next try
    (buffer,) = writer.unsaved()  # only the buffer: nothing is being written
    assert buffer.size == 6


def test_facade_entries_put_back_go_first_and_count_towards_the_limit(db: sa.Engine) -> None:
    for limit in range(0, 8):
        writer = StoreWriter(db, max_unsaved=limit)
        for n in range(3):
            writer.facade_entry(T0 + n, "ops", f"operator.pause_{n}", ACCOUNT, {})
        items = writer.take_facade()  # being written on their own; the write fails
        for event in _events()[:2]:
            writer(event)
        writer.facade_entry(T0 + 9, "ops", "operator.resume", ACCOUNT, {})
        writer.restore_facade(items)
        assert writer.over_limit == (writer.pending > limit), limit
        facade = writer.unsaved()[-1].facade
        assert [f[2] for f in facade] == [
            "operator.pause_0",
            "operator.pause_1",
            "operator.pause_2",
            "operator.resume",
        ]


def test_over_limit_for_each_kind_of_event_alone_in_an_empty_buffer(db: sa.Engine) -> None:
    """Events of one kind into an empty buffer, with no slack from other kinds: one row over a
    limit of 0 is over it, two rows (a state change's log row and its state) over a limit of
    1, four equity rows over a limit of 3."""
    position, trade = round_trip()
    _, snapshots, fill, _ = filled_entry()
    events = [
        *_events(),
        TradeClosed(T0 + 6, trade),
        FillBooked(T0 + 7, fill, "entry", "trend"),
        PositionChanged(T0 + 8, ACCOUNT, SYMBOL, position),
        OrderUpdated(T0 + 8, snapshots[0], OrderStatus.NEW),
        AccountStateChanged(T0 + 9, ACCOUNT, TradingState.ACTIVE, TradingState.HALTED, "dd"),
        KillSwitchChanged(T0 + 10, ACCOUNT, True, "review", "ops"),
        BreakerTripped(T0 + 11, ACCOUNT, "daily_loss", "Lost 4 % today."),
        EquitySnapshot(T0 + 12, ACCOUNT, D(10), D(0), D(10), D(0)),
    ]
    for event in events:
        for limit in range(4):
            writer = StoreWriter(db, max_unsaved=limit)
            for _ in range(4):  # and the same kind again, its rows only
                writer(event)
                assert writer.pending >= 1, event
                assert writer.over_limit == (writer.pending > limit), (limit, event)
    for limit in (0, 1):
        writer = StoreWriter(db, max_unsaved=limit)
        writer.record_close("BTC/USDT", T0, 100.0)
        assert writer.over_limit == (writer.pending > limit), limit
        writer = StoreWriter(db, max_unsaved=limit)
        writer.upsert_account(spec(), TradingState.ACTIVE, False, T0)
        assert writer.over_limit == (writer.pending > limit), limit
