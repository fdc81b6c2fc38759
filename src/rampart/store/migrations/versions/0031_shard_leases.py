"""Shard leases: which worker trades which shard of the accounts, until when, and
the fencing token that refuses a write or an order from a worker that lost its shard; and
each worker's heartbeat, so a worker holding nothing yet still gets its share.

Revision ID: 0031
Revises: 0030
Create Date: 2027-03-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128


def upgrade() -> None:
    op.create_table(
        "shard_leases",
        sa.Column("shard", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("owner", sa.String(ID), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("acquired_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shard", name="pk_shard_leases"),
    )
    op.create_table(
        "scale_workers",
        sa.Column("name", sa.String(ID), nullable=False),
        sa.Column("seen_ms", sa.BigInteger(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scale_workers"),
    )


def downgrade() -> None:
    op.drop_table("scale_workers")
    op.drop_table("shard_leases")
