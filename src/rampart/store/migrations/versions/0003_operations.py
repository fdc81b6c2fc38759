"""Operations: alert incidents and their timeline, hashed API tokens, reconciliation repairs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64
CODE = 32


def auto_id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def ms(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def text(name: str, length: int, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incidents",
        auto_id(),
        text("key", ID),
        text("rule", NAME),
        text("severity", CODE),
        text("status", CODE),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        ms("opened_at"),
        ms("acknowledged_at", nullable=True),
        text("acknowledged_by", ID, nullable=True),
        ms("resolved_at", nullable=True),
        ms("last_notified_at", nullable=True),
        sa.Column("notifications", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_key_status", "incidents", ["key", "status"])
    op.create_table(
        "incident_events",
        auto_id(),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        ms("ts"),
        text("kind", CODE),
        text("actor", ID),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
    )
    op.create_index("ix_incident_events_incident_id_ts", "incident_events", ["incident_id", "ts"])
    op.create_table(
        "api_tokens",
        auto_id(),
        text("token_hash", ID),
        text("prefix", CODE),
        text("scope", CODE),
        text("account_id", ID, nullable=True),
        text("name", NAME),
        ms("created_at"),
        ms("last_used_at", nullable=True),
        ms("revoked_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "reconciliation_repairs",
        auto_id(),
        ms("ts"),
        text("account_id", ID),
        text("kind", NAME),
        text("client_id", ID, nullable=True),
        text("symbol", NAME, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reconciliation_repairs"),
    )
    op.create_index(
        "ix_reconciliation_repairs_account_id_ts",
        "reconciliation_repairs",
        ["account_id", "ts"],
    )


def downgrade() -> None:
    for table in ("reconciliation_repairs", "api_tokens", "incident_events", "incidents"):
        op.drop_table(table)
