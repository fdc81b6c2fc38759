"""An index on ``orders.parent_id``: a trade's exit reason is read from the filled
exit order among its entry's children; without the index PostgreSQL read every order of the
account to find them (8.5 ms for an account with 20,000 orders, growing with its history).

Revision ID: 0036_orders_parent_index
Revises: 0035_bot_inbox
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0036_orders_parent_index"
down_revision: str | None = "0035_bot_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_parent", "orders", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_parent", table_name="orders")
