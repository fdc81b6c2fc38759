"""Terms accepted: who accepted which version of the terms of service and privacy
policy, when.

Revision ID: 0025
Revises: 0019
Create Date: 2027-02-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
CODE = 32


def auto_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "terms_acceptances",
        sa.Column("id", auto_id(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(ID), nullable=False),
        sa.Column("version", sa.String(CODE), nullable=False),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("accepted_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_terms_acceptances"),
    )
    op.create_index(
        "ix_terms_acceptances_account_id_accepted_at",
        "terms_acceptances",
        ["account_id", "accepted_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_terms_acceptances_account_id_accepted_at", table_name="terms_acceptances")
    op.drop_table("terms_acceptances")
