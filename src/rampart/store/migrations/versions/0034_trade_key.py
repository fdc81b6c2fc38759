"""A closed trade's key is its entry order and the time its position opened.

One entry order could close two trades: an entry still working when its position closed (its
cancel not yet confirmed) fills again and opens a position under the same entry id. The unique
key on the entry id alone refused the second trade, and with it every later checkpoint of the
shard ("duplicate key value violates unique constraint uq_trades_entry_client_id"). The writer
writes a trade by this key (a replayed trade, same entry and same opening, lands once).

Revision ID: 0034
Revises: 0033
Create Date: 2027-04-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "uq_trades_entry_client_id"
NEW = "uq_trades_entry_client_id_opened_at"


def upgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_constraint(OLD, type_="unique")
        batch.create_unique_constraint(NEW, ["entry_client_id", "opened_at"])


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_constraint(NEW, type_="unique")
        batch.create_unique_constraint(OLD, ["entry_client_id"])
