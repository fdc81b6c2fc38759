"""Where each worker serves its metrics: the ``rampart serve`` holding the ops lease
scrapes every worker's ``/metrics`` and evaluates every alert rule over the fleet.

Revision ID: 0033
Revises: 0032
Create Date: 2027-03-19
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

URL = 512


def upgrade() -> None:
    with op.batch_alter_table("scale_workers") as batch:
        batch.add_column(
            sa.Column("metrics_url", sa.String(URL), nullable=False, server_default="")
        )
    # The default only served the rows already there; a worker always writes it.
    with op.batch_alter_table("scale_workers") as batch:
        batch.alter_column("metrics_url", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("scale_workers") as batch:
        batch.drop_column("metrics_url")
