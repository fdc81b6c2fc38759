"""Tables of revision 0012: investor notification preferences and the durable outbox."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, AutoId, Col, metadata

# One kind of notice an account's investor turned on or off with ``/notify``; a kind with
# no row is on.
notify_prefs = sa.Table(
    "notify_prefs",
    metadata,
    Col("account_id", sa.String(ID), primary_key=True),
    Col("kind", sa.String(CODE), primary_key=True),
    Col("enabled", sa.Boolean),
    Col("updated_at", sa.BigInteger),
)


# A notice for an account's investor. ``key`` names the event it tells (the same event
# replayed after a restart is not queued twice); ``sent_at`` is set once Telegram accepted it
# (or it can never be delivered), and sent rows are pruned after a day.
notify_outbox = sa.Table(
    "notify_outbox",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("key", sa.String(ID * 2), unique=True),
    Col("account_id", sa.String(ID)),
    Col("kind", sa.String(CODE)),
    Col("text", sa.Text),
    Col("created_at", sa.BigInteger),
    Col("sent_at", sa.BigInteger, nullable=True),
    sa.Index("ix_notify_outbox_sent_at", "sent_at"),
)


# A command the bot received (``bot_inbox``) and each reply it queued
# (``bot_replies``), kept until answered so a restart resumes them. ``payload`` is the update
# as Telegram sent it, kept only for commands that carry no secret (never ``/connect``'s
# key, never free text); ``handled_at`` is set once its replies were recorded. A reply's
# ``sent_at`` is set once Telegram accepted it; handled and sent rows are pruned after a day.
bot_inbox = sa.Table(
    "bot_inbox",
    metadata,
    Col("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    Col("chat_id", sa.BigInteger),
    Col("payload", sa.Text),
    Col("received_at", sa.BigInteger),
    Col("handled_at", sa.BigInteger, nullable=True),
    sa.Index("ix_bot_inbox_handled_at", "handled_at"),
)
bot_replies = sa.Table(
    "bot_replies",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("update_id", sa.BigInteger),
    Col("chat_id", sa.BigInteger),
    Col("text", sa.Text),
    Col("markup", sa.Text, nullable=True),
    Col("lane", sa.String(CODE)),
    Col("created_at", sa.BigInteger),
    Col("sent_at", sa.BigInteger, nullable=True),
    sa.Index("ix_bot_replies_sent_at", "sent_at"),
)
