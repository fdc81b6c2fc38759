"""The alert engine's timers survive a restart: when each incident was last told on
the ops clock (repeats go on from there) and the conditions still waiting out their ``for``.

Incidents stored before have no ops time: a restart repeats them one interval after it starts,
as it did before this revision.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("notified_ops_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "alert_pending",
        sa.Column("key", sa.String(ID), nullable=False),
        sa.Column("rule", sa.String(NAME), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_alert_pending"),
    )


def downgrade() -> None:
    op.drop_table("alert_pending")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("notified_ops_at")
