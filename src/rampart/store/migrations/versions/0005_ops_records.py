"""Operations records: events the launch checklist asks about, uptime spans, scheduler runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64
CODE = 32
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ops_events",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(NAME), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ops_events"),
    )
    op.create_index("ix_ops_events_kind_ts", "ops_events", ["kind", "ts"])
    op.create_table(
        "uptime_spans",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("last_beat_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_uptime_spans"),
    )
    op.create_index("ix_uptime_spans_last_beat_at", "uptime_spans", ["last_beat_at"])
    op.create_table(
        "scheduler_runs",
        sa.Column("job", sa.String(NAME), nullable=False),
        sa.Column("last_slot", sa.BigInteger(), nullable=False),
        sa.Column("last_run_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(CODE), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job", name="pk_scheduler_runs"),
    )


def downgrade() -> None:
    op.drop_index("ix_uptime_spans_last_beat_at", table_name="uptime_spans")
    op.drop_index("ix_ops_events_kind_ts", table_name="ops_events")
    for table in ("scheduler_runs", "uptime_spans", "ops_events"):
        op.drop_table(table)
