"""panel_sessions: the operator panel's sign-in sessions, so a restart keeps people signed in. Only
the session id's hash and the token's id are stored, never either secret.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
CODE = 32


def upgrade() -> None:
    op.create_table(
        "panel_sessions",
        sa.Column("sid_hash", sa.String(CODE * 2), nullable=False),
        sa.Column("token_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf", sa.String(ID), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sid_hash", name="pk_panel_sessions"),
    )
    op.create_index("ix_panel_sessions_expires_at", "panel_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_panel_sessions_expires_at", table_name="panel_sessions")
    op.drop_table("panel_sessions")
