"""Scale state: the kill switch and the blue-green deploy every worker applies,
kept for a worker that was away or starts later; each worker's version and role.

Revision ID: 0032
Revises: 0031
Create Date: 2027-03-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128


def upgrade() -> None:
    op.create_table(
        "scale_state",
        sa.Column("key", sa.String(ID), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("changed_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_scale_state"),
    )
    with op.batch_alter_table("scale_workers") as batch:
        batch.add_column(sa.Column("version", sa.String(ID), nullable=False, server_default=""))
        batch.add_column(sa.Column("role", sa.String(32), nullable=False, server_default="active"))
    # The defaults only served the rows already there; a worker always writes both.
    with op.batch_alter_table("scale_workers") as batch:
        batch.alter_column("version", server_default=None)
        batch.alter_column("role", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("scale_workers") as batch:
        batch.drop_column("role")
        batch.drop_column("version")
    op.drop_table("scale_state")
