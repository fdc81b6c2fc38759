"""The store writer's statements: built, and their plans compiled, once per database dialect in
a process, not once per writer. A search opens a session (and its writer) per trial on one
in-memory database: building them each time was ~1.5 ms of a trial."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import sqlalchemy as sa

from rampart.store import models as m
from rampart.store.batch import Batch
from rampart.store.dialects import dialect_insert
from rampart.store.fast_insert import FastInsert
from rampart.store.market_closes import upsert_closes
from rampart.store.upserts import idempotent_logs, upsert


@dataclass(frozen=True, slots=True)
class WriterStatements:
    """Every statement a :class:`~rampart.store.writer.StoreWriter` writes with."""

    upsert_accounts: FastInsert
    upsert_orders: FastInsert
    upsert_positions: FastInsert
    upsert_checkpoint: FastInsert
    upsert_closes: Any
    inserts: Mapping[sa.Table, FastInsert]
    insert_transitions: FastInsert
    delete_positions: Any
    update_state: Any
    update_paused: Any


_BUILT: WeakKeyDictionary[sa.Dialect, WriterStatements] = WeakKeyDictionary()
"""Each dialect's statements, for as long as its engine lives."""


def statements_for(dialect: sa.Dialect) -> WriterStatements:
    """The statements of ``dialect`` (a supported one: the writer checks first)."""
    built = _BUILT.get(dialect)
    if built is None:
        built = _BUILT[dialect] = _build(dialect)
    return built


def _build(dialect: sa.Dialect) -> WriterStatements:
    insert = dialect_insert(dialect.name)
    # Each INSERT is compiled once and its rows go to the driver as DB-API values.
    inserts = {table: FastInsert(table.insert(), table, dialect) for table in Batch().logs}
    for table, stmt in idempotent_logs(insert).items():
        inserts[table] = FastInsert(stmt, table, dialect)
    acct, pos = m.accounts.c, m.positions.c
    return WriterStatements(
        upsert_accounts=FastInsert(
            upsert(insert, m.accounts, keep=("created_at",)), m.accounts, dialect
        ),
        upsert_orders=FastInsert(upsert(insert, m.orders), m.orders, dialect),
        upsert_positions=FastInsert(upsert(insert, m.positions), m.positions, dialect),
        upsert_checkpoint=FastInsert(upsert(insert, m.checkpoints), m.checkpoints, dialect),
        upsert_closes=upsert_closes(insert),
        inserts=inserts,
        insert_transitions=FastInsert(m.order_transitions.insert(), m.order_transitions, dialect),
        delete_positions=sa.delete(m.positions).where(
            pos.account_id == sa.bindparam("k_account"), pos.symbol == sa.bindparam("k_symbol")
        ),
        update_state=(
            sa.update(m.accounts)
            .where(acct.account_id == sa.bindparam("k_account"))
            .values(state=sa.bindparam("v_state"), updated_at=sa.bindparam("v_ts"))
        ),
        update_paused=(
            sa.update(m.accounts)
            .where(acct.account_id == sa.bindparam("k_account"))
            .values(paused=sa.bindparam("v_paused"), updated_at=sa.bindparam("v_ts"))
        ),
    )


__all__ = ["WriterStatements", "statements_for"]
