"""The ML model registry.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ID = 128
NAME = 64
CODE = 32
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ml_models",
        sa.Column("version", sa.String(NAME), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(ID), nullable=False),
        sa.Column("algorithm", sa.String(CODE), nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("artifact_path", sa.Text(), nullable=False),
        sa.Column("artifact_sha256", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(CODE), nullable=False),
        sa.Column("promoted_by", sa.String(ID), nullable=True),
        sa.Column("promoted_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("version", name="pk_ml_models"),
    )
    op.create_index("ix_ml_models_stage", "ml_models", ["stage"])
    op.create_table(
        "ml_model_transitions",
        sa.Column("id", AutoId, autoincrement=True, nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(CODE), nullable=False),
        sa.Column("version", sa.String(NAME), nullable=False),
        sa.Column("previous", sa.String(NAME), nullable=True),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ml_model_transitions"),
    )
    op.create_index("ix_ml_model_transitions_version", "ml_model_transitions", ["version"])


def downgrade() -> None:
    op.drop_index("ix_ml_model_transitions_version", table_name="ml_model_transitions")
    op.drop_table("ml_model_transitions")
    op.drop_index("ix_ml_models_stage", table_name="ml_models")
    op.drop_table("ml_models")
