"""Intents carry their trace id: the client id of the entry order an approved intent
became, so ``rampart trace`` follows the id instead of matching account, symbol and time (two
intents on one symbol in the same second were told apart by luck).

Revision ID: 0030
Revises: 0029
Create Date: 2027-03-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128


def upgrade() -> None:
    # batch mode: SQLite cannot add an indexed column to a table in place on every version.
    with op.batch_alter_table("intents") as batch:
        batch.add_column(sa.Column("client_id", sa.String(ID), nullable=True))
        batch.create_index("ix_intents_client_id", ["client_id"])


def downgrade() -> None:
    with op.batch_alter_table("intents") as batch:
        batch.drop_index("ix_intents_client_id")
        batch.drop_column("client_id")
