"""Request budget: weight spent per window of an exchange's published limit, per
egress address, shared by every worker.

Revision ID: 0028
Revises: 0025
Create Date: 2027-02-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128


def upgrade() -> None:
    op.create_table(
        "request_budget",
        sa.Column("budget", sa.String(ID * 2), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("budget", "window_start", name="pk_request_budget"),
    )


def downgrade() -> None:
    op.drop_table("request_budget")
