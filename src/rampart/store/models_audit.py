"""Tables of revision 0008: the hash-chained audit log (issue 7).

``audit_log`` is append-only: each row carries the hash of the row before it, so an edited,
deleted or reordered row breaks the chain where it happened. ``audit_head`` is one row (id 1)
holding the newest ``seq`` and ``hash``: appenders lock it to serialise appends across
processes, and ``verify`` compares it with the last row so a deleted tail shows too.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import ID, NAME, Base

HASH = 64
"""A SHA-256 digest in hex."""


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_action_ts", "action", "ts"),)

    # Assigned by the appender (gapless 1..n), never by the database.
    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[int]
    actor: Mapped[str] = mapped_column(sa.String(ID))
    action: Mapped[str] = mapped_column(sa.String(NAME))
    target: Mapped[str] = mapped_column(sa.String(ID))
    # Canonical JSON text, not a JSON column: the hash covers exactly these characters on
    # every backend.
    detail: Mapped[str] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(HASH))
    hash: Mapped[str] = mapped_column(sa.String(HASH))


class AuditHeadRow(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(sa.String(HASH))
    updated_at: Mapped[int]


audit_log = AuditRow.__table__
audit_head = AuditHeadRow.__table__
