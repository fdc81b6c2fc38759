"""The writer's fast inserts store exactly what SQLAlchemy's executemany stored.

The same batch is written twice into one database, once by today's writer and once by a
reference writer that takes the old path (``conn.execute(stmt, rows)`` through the column
types, the audit detail through :func:`canonical`), and every stored cell is compared as the
database holds it: its text and, on SQLite, its storage class.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.domain.accounts import TradingState
from rampart.domain.events import (
    AccountStateChanged,
    BreakerTripped,
    EquitySnapshot,
    FillBooked,
    IntentProposed,
    IntentRejected,
    KillSwitchChanged,
    OrderUpdated,
    PositionChanged,
    TradeClosed,
)
from rampart.domain.orders import OrderStatus
from rampart.store import models as m
from rampart.store.audit import AuditLog, Entry
from rampart.store.fast_insert import ROWS_PER_STATEMENT, FastInsert
from rampart.store.models.audit import audit_head, audit_log
from rampart.store.types import Money, money_binder
from rampart.store.writer import Batch, StoreWriter

from .factories import ACCOUNT, SYMBOL, T0, filled_entry, intent, round_trip, spec, stop_order

EDGE_MONEY: list[Any] = [
    Decimal("-0.000"),
    Decimal("-0"),
    Decimal("-0E+3"),
    Decimal("1E+2"),
    Decimal("-1.5E+3"),
    Decimal("0.10000"),
    Decimal("1.23E-9"),
    Decimal("0.000031271234567890123456789012345"),
    Decimal("-42.4200"),
    5,
    -7,
    0.1,
    1e-7,
    "2.50",
    "-0.0",
    "1e3",
]


class _OldAuditInsert:
    """audit_log rows through ``conn.execute`` and the column types, as before."""

    def execute_values(self, conn: sa.Connection, keys: tuple[str, ...], values: list[Any]) -> None:
        conn.execute(audit_log.insert(), [dict(zip(keys, v, strict=True)) for v in values])


class _OldAuditLog(AuditLog):
    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self._insert = _OldAuditInsert()  # type: ignore[assignment]

    def append(self, conn: sa.Connection, entries: Any) -> int:
        # Drop the pre-written detail text: canonical(detail) as before.
        plain = [Entry(e.ts, e.actor, e.action, e.target, e.detail) for e in entries]
        return super().append(conn, plain)


def _old_writer(engine: sa.Engine) -> StoreWriter:
    """A writer on the old path: every statement through ``conn.execute``."""
    writer = StoreWriter(engine)
    for name in (
        "_upsert_accounts",
        "_upsert_orders",
        "_upsert_positions",
        "_upsert_checkpoint",
        "_insert_transitions",
    ):
        setattr(writer, name, getattr(writer, name).stmt)
    writer._inserts = {table: table.insert() for table in writer._inserts}  # type: ignore[misc]
    writer.audit = _OldAuditLog(engine)
    return writer


def _batch() -> Batch:
    """Every kind of row the writer makes, plus money and text at their edges."""
    w = StoreWriter(sa.create_engine("sqlite://"))
    w.upsert_account(spec(), TradingState.ACTIVE, False, T0)
    w.upsert_account(spec("bøb ✓", capital="1E+2"), "halted", True, T0)
    order, snapshots, fill1, fill2 = filled_entry()
    previous = OrderStatus.NEW
    for snap in snapshots:
        w(OrderUpdated(snap.updated_at, snap, previous))
        previous = snap.status
    w(OrderUpdated(T0 + 9, stop_order(order), OrderStatus.NEW))
    # More rows than one multi-row INSERT takes (and a remainder), for orders, transitions
    # and the audit log: SQLite gets them ROWS_PER_STATEMENT at a time.
    for seq in range(3, 3 + 2 * ROWS_PER_STATEMENT + 5):
        w(OrderUpdated(T0 + 9 + seq, stop_order(order, seq), OrderStatus.NEW))
    w(FillBooked(T0 + 3, fill1, "entry", "breakout"))
    w(FillBooked(T0 + 4, fill2, "entry", "brëakout"))
    position, trade = round_trip()
    w(PositionChanged(T0 + 5, ACCOUNT, SYMBOL, position))
    w(PositionChanged(T0 + 6, "bøb ✓", SYMBOL, None))
    w(TradeClosed(T0 + 7, trade))
    w(IntentProposed(T0 + 8, intent()))
    w(IntentRejected(T0 + 8, intent(), "too_big", 'Größer als erlaubt — "quoted" \\ ✓'))
    w(AccountStateChanged(T0 + 10, ACCOUNT, TradingState.ACTIVE, TradingState.REDUCING, "ünïcode"))
    w(BreakerTripped(T0 + 11, ACCOUNT, "daily_loss", "lost 3 %"))
    w(KillSwitchChanged(T0 + 12, "global", True, "stop \u2028 now", "ops@x", flatten=True))
    w(KillSwitchChanged(T0 + 13, ACCOUNT, False, "", "ops"))
    for i, amount in enumerate(EDGE_MONEY):
        w(EquitySnapshot(T0 + 20 + i, ACCOUNT, amount, amount, amount, amount))
    return w.detach()


def _again() -> Batch:
    """The batch once more without the rows whose keys may be written only once."""
    batch = _batch()
    batch.logs[m.fills].clear()
    batch.logs[m.trades].clear()
    return batch


def _dump(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every cell of the writer's tables as the database stores it."""
    tables = [*Batch().logs, m.order_transitions, m.accounts, m.orders, m.positions]
    tables += [m.checkpoints, audit_log, audit_head]
    sqlite_db = engine.dialect.name == "sqlite"
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in tables:
            cells = []
            for c in table.columns:
                cells.append(f"CAST({c.name} AS TEXT)")
                if sqlite_db:
                    cells.append(f"typeof({c.name})")
            keys = ", ".join(c.name for c in table.primary_key.columns)
            sql = f"SELECT {', '.join(cells)} FROM {table.name} ORDER BY {keys}"
            out[table.name] = [tuple(r) for r in conn.exec_driver_sql(sql)]
    return out


def _empty(engine: sa.Engine) -> None:
    tables = [*Batch().logs, m.order_transitions, m.accounts, m.orders, m.positions]
    tables += [m.checkpoints, audit_log, audit_head]
    with engine.begin() as conn:
        for table in tables:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"TRUNCATE {table.name} RESTART IDENTITY")
            else:
                conn.exec_driver_sql(f"DELETE FROM {table.name}")


def test_fast_and_old_writes_store_identical_rows(db: sa.Engine) -> None:
    checkpoint = ("replay", T0 + 99, {"bars": 3, "name": "ünï ✓", "x": [1.5, None, True]})

    assert StoreWriter(db).write(_batch(), checkpoint) > 0
    # A second batch on top: upserts of existing keys and a longer audit chain.
    assert StoreWriter(db).write(_again(), checkpoint) > 0
    fast = _dump(db)

    _empty(db)
    _old_writer(db).write(_batch(), checkpoint)
    _old_writer(db).write(_again(), checkpoint)
    old = _dump(db)

    assert fast["equity_snapshots"]  # the edge amounts were written
    assert len(fast["audit_log"]) > 4 * ROWS_PER_STATEMENT  # both batches' transitions
    assert len(fast["orders"]) > 2 * ROWS_PER_STATEMENT
    for name in old:
        assert fast[name] == old[name], name
    assert AuditLog(db).verify().ok


@pytest.mark.parametrize("amount", [*EDGE_MONEY, None])
@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql"])
def test_money_binder_binds_what_the_column_type_binds(amount: Any, dialect_name: str) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql.psycopg.dialect() if dialect_name == "postgresql" else sqlite.dialect()
    expected = Money().process_bind_param(amount, dialect)
    got = money_binder(dialect)(amount)
    assert type(got) is type(expected) and repr(got) == repr(expected)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("-Infinity"), True, "abc", object()])
def test_money_binder_refuses_what_the_column_type_refuses(bad: Any) -> None:
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError):
        Money().process_bind_param(bad, sqlite.dialect())
    with pytest.raises(ValueError):
        money_binder(sqlite.dialect())(bad)


def test_a_row_missing_a_column_is_a_value_error(db: sa.Engine) -> None:
    insert = FastInsert(m.fills.insert(), m.fills, db.dialect)
    with db.begin() as conn, pytest.raises(ValueError, match="fee"):
        row = {"fill_id": "f1", "client_id": "c", "account_id": "a", "symbol": "s"}
        row |= {"side": "buy", "qty": Decimal(1), "price": Decimal(2), "fee": Decimal(0)}
        row |= {"liquidity": "maker", "role": "entry", "strategy": "t", "ts": 1}
        short = dict(row)
        del short["fee"]
        insert.execute(conn, [row, short])


def test_money_binder_matches_the_column_type_across_exponents() -> None:
    # The SQLite binder writes str() when it has no exponent, format "f" otherwise: the
    # column type's text either way, checked over magnitudes and exponents of both signs.
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    bind = money_binder(dialect)
    column = Money()
    rng = random.Random(37)
    for _ in range(5000):
        amount = Decimal(rng.randint(-(10**14), 10**14)).scaleb(rng.randint(-24, 8))
        assert bind(amount) == column.process_bind_param(amount, dialect), amount
