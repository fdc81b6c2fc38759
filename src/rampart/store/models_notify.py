"""Tables of revision 0012: investor notification preferences and the durable outbox (issue 17)."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import CODE, ID, AutoId, Base


class NotifyPrefRow(Base):
    """One kind of notice an account's investor turned on or off with ``/notify``; a kind with
    no row is on."""

    __tablename__ = "notify_prefs"

    account_id: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(CODE), primary_key=True)
    enabled: Mapped[bool]
    updated_at: Mapped[int]


class OutboxRow(Base):
    """A notice for an account's investor. ``key`` names the event it tells (the same event
    replayed after a restart is not queued twice); ``sent_at`` is set once Telegram accepted it
    (or it can never be delivered), and sent rows are pruned after a day."""

    __tablename__ = "notify_outbox"
    __table_args__ = (sa.Index("ix_notify_outbox_sent_at", "sent_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(ID * 2), unique=True)
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    kind: Mapped[str] = mapped_column(sa.String(CODE))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[int]
    sent_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


notify_prefs = cast(sa.Table, NotifyPrefRow.__table__)
notify_outbox = cast(sa.Table, OutboxRow.__table__)
