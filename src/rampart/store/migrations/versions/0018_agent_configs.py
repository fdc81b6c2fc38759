"""agent_configs: named agent configurations with their research evidence.

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 64
ID = 128


def upgrade() -> None:
    op.create_table(
        "agent_configs",
        sa.Column("name", sa.String(NAME), primary_key=True, nullable=False),
        sa.Column("agent", sa.String(NAME), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(ID), nullable=False),
    )
    op.create_index("ix_agent_configs_agent", "agent_configs", ["agent"])


def downgrade() -> None:
    op.drop_index("ix_agent_configs_agent", table_name="agent_configs")
    op.drop_table("agent_configs")
