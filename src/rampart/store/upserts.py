"""The writer's conflict handling: which rows replace the stored row of their key (the latest
state of an order, a position, an account, a checkpoint) and which a second write leaves be
(the natural keys of the log tables: a venue trade id; an entry order and when its position
opened)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from rampart.store import models as m
from rampart.store.rows import Row

TRADE_KEY = ("entry_client_id", "opened_at")
"""A closed trade's natural key (one entry order may open, and close, two positions)."""


def upsert(insert: Callable[[sa.Table], Any], table: sa.Table, keep: Sequence[str] = ()) -> Any:
    """INSERT … ON CONFLICT (primary key) DO UPDATE every other column except ``keep``."""
    stmt = insert(table)
    keys = [c.name for c in table.primary_key.columns]
    updates = {
        c.name: stmt.excluded[c.name]
        for c in table.columns
        if c.name not in keys and c.name not in keep
    }
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


def idempotent_logs(insert: Callable[[sa.Table], Any]) -> dict[sa.Table, Any]:
    """The log tables whose rows have a natural key, each written so that a row written twice
    (a batch rewritten after a commit whose acknowledgement was lost, rows re-derived by a
    shard's new holder from an older checkpoint) lands once and never fails the batch.

    A fill is the venue's trade (``fill_id`` is its trade id): a fact that never changes, so
    the first write stands. A closed trade is keyed by its entry order and the time its
    position opened (:data:`TRADE_KEY`; both come from the venue's fills): a second write is
    the same trade derived again, and the newer one wins, because a shard's new holder derives
    it from the venue's fills where the old one may have booked a guess (an ``adj-`` sale) the
    real trade has since explained."""
    trades = insert(m.trades)
    kept = {"id", *TRADE_KEY}
    return {
        m.fills: insert(m.fills).on_conflict_do_nothing(index_elements=["fill_id"]),
        m.trades: trades.on_conflict_do_update(
            index_elements=list(TRADE_KEY),
            set_={c.name: trades.excluded[c.name] for c in m.trades.columns if c.name not in kept},
        ),
    }


def last_per_key(rows: list[Row], key: Sequence[str]) -> list[Row]:
    """One row per ``key`` (the last), in first-seen order: PostgreSQL refuses an upsert that
    would touch the same row twice in one statement."""
    by_key: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        by_key[tuple(row[k] for k in key)] = row
    return list(by_key.values()) if len(by_key) < len(rows) else rows
