"""Tables of revision 0008: the hash-chained audit log.

``audit_log`` is append-only: each row carries the hash of the row before it, so an edited,
deleted or reordered row breaks the chain where it happened. ``audit_head`` is one row (id 1)
holding the newest ``seq`` and ``hash``: appenders lock it to serialise appends across
processes, and ``verify`` compares it with the last row so a deleted tail shows too.
"""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import ID, NAME, Col, metadata

HASH = 64
"""A SHA-256 digest in hex."""


audit_log = sa.Table(
    "audit_log",
    metadata,
    # Assigned by the appender (gapless 1..n), never by the database.
    Col("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    Col("ts", sa.BigInteger),
    Col("actor", sa.String(ID)),
    Col("action", sa.String(NAME)),
    Col("target", sa.String(ID)),
    # Canonical JSON text, not a JSON column: the hash covers exactly these characters on
    # every backend.
    Col("detail", sa.Text),
    Col("prev_hash", sa.String(HASH)),
    Col("hash", sa.String(HASH)),
    sa.Index("ix_audit_log_action_ts", "action", "ts"),
)


audit_head = sa.Table(
    "audit_head",
    metadata,
    Col("id", sa.Integer, primary_key=True, autoincrement=False),
    Col("seq", sa.BigInteger),
    Col("hash", sa.String(HASH)),
    Col("updated_at", sa.BigInteger),
)
