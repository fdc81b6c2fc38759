"""The service's business clock, shared with commands run in another process.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 64


def upgrade() -> None:
    op.create_table(
        "service_clock",
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("now_ms", sa.BigInteger(), nullable=False),
        sa.Column("wall_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_service_clock"),
    )


def downgrade() -> None:
    op.drop_table("service_clock")
