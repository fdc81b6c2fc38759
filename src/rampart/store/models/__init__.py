"""Tables. Every timestamp is a BigInteger of UTC milliseconds, as the domain events carry.

There are deliberately no foreign keys between these tables: events of different kinds arrive
in whatever order the engine publishes them, and a log row must never be refused because the
row it mentions has not been written yet. Revision 0001 must match this module exactly (a test
compares them).
"""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE as CODE
from rampart.store.models.columns import ID as ID
from rampart.store.models.columns import NAME as NAME
from rampart.store.models.columns import NAMING as NAMING
from rampart.store.models.columns import AutoId as AutoId
from rampart.store.models.columns import Col as Col
from rampart.store.models.columns import metadata as metadata
from rampart.store.types import Money

accounts = sa.Table(
    "accounts",
    metadata,
    Col("account_id", sa.String(ID), primary_key=True),
    Col("owner", sa.String(ID)),
    Col("agent", sa.String(NAME)),
    Col("profile", sa.String(NAME)),
    Col("capital", Money),
    Col("quote", sa.String(CODE)),
    Col("symbols", sa.JSON),
    Col("state", sa.String(CODE)),
    Col("paused", sa.Boolean),
    Col("created_at", sa.BigInteger),
    Col("updated_at", sa.BigInteger),
)


orders = sa.Table(
    "orders",
    metadata,
    Col("client_id", sa.String(ID), primary_key=True),
    Col("account_id", sa.String(ID)),
    Col("symbol", sa.String(NAME)),
    Col("side", sa.String(CODE)),
    Col("type", sa.String(CODE)),
    Col("role", sa.String(CODE)),
    Col("qty", Money),
    Col("price", Money, nullable=True),
    Col("stop_price", Money, nullable=True),
    Col("status", sa.String(CODE)),
    Col("filled_qty", Money),
    Col("avg_fill_price", Money),
    Col("fees", Money),
    Col("venue_order_id", sa.String(ID), nullable=True),
    Col("oco_group", sa.String(ID), nullable=True),
    Col("parent_id", sa.String(ID), nullable=True),
    Col("strategy", sa.String(NAME)),
    Col("reason", sa.Text),
    Col("created_at", sa.BigInteger),
    Col("updated_at", sa.BigInteger),
    sa.Index("ix_orders_account_updated", "account_id", "updated_at"),
    sa.Index("ix_orders_status", "status"),
    sa.Index("ix_orders_parent", "parent_id"),
)


# Append-only: one row per published order update, ``previous → status``.
#
# The row written when an order is registered has ``previous == status == 'new'``.
order_transitions = sa.Table(
    "order_transitions",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("client_id", sa.String(ID)),
    Col("account_id", sa.String(ID)),
    Col("ts", sa.BigInteger),
    Col("previous", sa.String(CODE)),
    Col("status", sa.String(CODE)),
    sa.Index("ix_order_transitions_client", "client_id", "id"),
)


fills = sa.Table(
    "fills",
    metadata,
    Col("fill_id", sa.String(ID), primary_key=True),
    Col("client_id", sa.String(ID)),
    Col("account_id", sa.String(ID)),
    Col("symbol", sa.String(NAME)),
    Col("side", sa.String(CODE)),
    Col("qty", Money),
    Col("price", Money),
    Col("fee", Money),
    Col("liquidity", sa.String(CODE)),
    Col("role", sa.String(CODE)),
    Col("strategy", sa.String(NAME)),
    Col("ts", sa.BigInteger),
    sa.Index("ix_fills_account_ts", "account_id", "ts"),
)


# Open positions only: a position that closes is deleted (its trade is in ``trades``).
#
# Besides the columns the live view shows, it keeps the ledger's bookkeeping (bought, sold,
# initial stop) so a row converts back to the exact domain Position.
positions = sa.Table(
    "positions",
    metadata,
    Col("account_id", sa.String(ID), primary_key=True),
    Col("symbol", sa.String(NAME), primary_key=True),
    Col("strategy", sa.String(NAME)),
    Col("qty", Money),
    Col("avg_price", Money),
    Col("stop_loss", Money),
    Col("take_profit", Money),
    Col("entry_client_id", sa.String(ID)),
    Col("opened_at", sa.BigInteger),
    Col("realized_gross", Money),
    Col("entry_fees", Money),
    Col("exit_fees", Money),
    Col("bought_qty", Money),
    Col("bought_value", Money),
    Col("sold_qty", Money),
    Col("sold_value", Money),
    Col("initial_stop", Money),
    Col("updated_at", sa.BigInteger),
    # The orders that bought and sold it, the last of each (a part is not counted).
    Col("entries", sa.Integer, server_default="0"),
    Col("exits", sa.Integer, server_default="0"),
    Col("last_buy", sa.String(ID), server_default=""),
    Col("last_sell", sa.String(ID), server_default=""),
)


trades = sa.Table(
    "trades",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("account_id", sa.String(ID)),
    Col("symbol", sa.String(NAME)),
    Col("strategy", sa.String(NAME)),
    Col("entry_client_id", sa.String(ID)),
    Col("opened_at", sa.BigInteger),
    Col("closed_at", sa.BigInteger),
    Col("qty", Money),
    Col("entry_price", Money),
    Col("exit_price", Money),
    Col("gross_pnl", Money),
    Col("fees", Money),
    Col("pnl", Money),
    Col("exit_reason", sa.String(CODE)),
    Col("stop_loss", Money),
    Col("take_profit", Money),
    Col("risk", Money),
    # The stop it closed with, the orders that bought and sold it (0: not known).
    Col("final_stop", Money, server_default="0"),
    Col("entries", sa.Integer, server_default="0"),
    Col("exits", sa.Integer, server_default="0"),
    sa.Index("ix_trades_account_closed", "account_id", "closed_at"),
    # One entry order may close two trades (an entry that fills again after its position
    # closed opens another): a trade is its entry and the time its position opened.
    sa.UniqueConstraint("entry_client_id", "opened_at"),
)


equity_snapshots = sa.Table(
    "equity_snapshots",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("account_id", sa.String(ID)),
    Col("ts", sa.BigInteger),
    Col("cash", Money),
    Col("positions_value", Money),
    Col("equity", Money),
    Col("realized_pnl", Money),
    sa.Index("ix_equity_snapshots_account_ts", "account_id", "ts"),
)


intents = sa.Table(
    "intents",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("account_id", sa.String(ID)),
    Col("symbol", sa.String(NAME)),
    Col("side", sa.String(CODE)),
    Col("action", sa.String(CODE)),
    Col("entry_price", Money),
    Col("stop_loss", Money),
    Col("take_profit", Money),
    Col("size_hint", Money),
    Col("confidence", sa.Float),
    Col("rationale", sa.Text),
    Col("agent", sa.String(NAME)),
    Col("ts", sa.BigInteger),
    # The entry order the intent became (its trace id); null when refused, for a close, and on
    # rows written before migration 0030.
    Col("client_id", sa.String(ID), nullable=True),
    sa.Index("ix_intents_account_ts", "account_id", "ts"),
    sa.Index("ix_intents_client_id", "client_id"),
)


rejections = sa.Table(
    "rejections",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("account_id", sa.String(ID)),
    Col("symbol", sa.String(NAME)),
    Col("agent", sa.String(NAME)),
    Col("side", sa.String(CODE)),
    Col("code", sa.String(NAME)),
    Col("message", sa.Text),
    Col("entry_price", Money),
    Col("stop_loss", Money),
    Col("take_profit", Money),
    Col("ts", sa.BigInteger),
    sa.Index("ix_rejections_account_ts", "account_id", "ts"),
)


# State changes, breaker trips, kill switch engages/releases and invariant violations.
#
# ``scope`` is an account id or ``global``; ``kind`` is ``state``, ``breaker``,
# ``kill_switch`` or ``invariant``; ``new`` names what happened (the new state, the breaker,
# ``engaged``/``released``, the invariant) and ``reason`` says why in words.
account_events = sa.Table(
    "account_events",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("scope", sa.String(ID)),
    Col("kind", sa.String(CODE)),
    Col("old", sa.String(NAME)),
    Col("new", sa.String(NAME)),
    Col("reason", sa.Text),
    Col("actor", sa.String(ID)),
    Col("flatten", sa.Boolean),
    Col("ts", sa.BigInteger),
    sa.Index("ix_account_events_scope_ts", "scope", "ts"),
)


# What a restart needs, saved in the same transaction as the rows it accounts for.
checkpoints = sa.Table(
    "checkpoints",
    metadata,
    Col("name", sa.String(ID), primary_key=True),
    Col("ts", sa.BigInteger),
    Col("payload", sa.JSON),
    Col("updated_at", sa.BigInteger),
)


# One alert incident: opened by a rule, acknowledged by an operator, resolved when clear.
#
# ``key`` deduplicates: at most one incident per key is not yet resolved. ``status`` is
# ``open``, ``acknowledged`` or ``resolved``; its timeline is in ``incident_events``.
incidents = sa.Table(
    "incidents",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("key", sa.String(ID)),
    Col("rule", sa.String(NAME)),
    Col("severity", sa.String(CODE)),
    Col("status", sa.String(CODE)),
    Col("summary", sa.Text),
    Col("value", sa.Float, nullable=True),
    Col("threshold", sa.Float, nullable=True),
    Col("labels", sa.JSON),
    Col("opened_at", sa.BigInteger),
    Col("acknowledged_at", sa.BigInteger, nullable=True),
    Col("acknowledged_by", sa.String(ID), nullable=True),
    Col("resolved_at", sa.BigInteger, nullable=True),
    Col("last_notified_at", sa.BigInteger, nullable=True),
    Col("notifications", sa.BigInteger),
    # When the operator expects it fixed (UTC ms), told to the investors it affects.
    Col("eta_at", sa.BigInteger, nullable=True),
    # The last notice on the alert engine's ops clock (``last_notified_at`` is business time):
    # a restarted engine repeats at this + the repeat interval, not from its own start.
    Col("notified_ops_at", sa.BigInteger, nullable=True),
    sa.Index("ix_incidents_key_status", "key", "status"),
)


# A condition that holds but has not yet held for its rule's ``for`` (no incident yet): when it
# began to hold, on the alert engine's ops clock, so a restart does not start the wait again.
alert_pending = sa.Table(
    "alert_pending",
    metadata,
    Col("key", sa.String(ID), primary_key=True),
    Col("rule", sa.String(NAME)),
    Col("since", sa.BigInteger),
)


# The timeline of an incident: ``opened``, ``notified``, ``repeated``, ``acknowledged``,
# ``resolved``, and notification failures (``notify_failed``).
incident_events = sa.Table(
    "incident_events",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("incident_id", sa.BigInteger),
    Col("ts", sa.BigInteger),
    Col("kind", sa.String(CODE)),
    Col("actor", sa.String(ID)),
    Col("note", sa.Text),
    sa.Index("ix_incident_events_incident_id_ts", "incident_id", "ts"),
)


# An API token, stored only as a hash. ``prefix`` is its first characters, for display.
#
# ``scope`` is ``admin``, ``read`` or ``user``; a user token belongs to ``account_id``.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("token_hash", sa.String(ID), unique=True),
    Col("prefix", sa.String(CODE)),
    Col("scope", sa.String(CODE)),
    Col("account_id", sa.String(ID), nullable=True),
    Col("name", sa.String(NAME)),
    Col("created_at", sa.BigInteger),
    Col("last_used_at", sa.BigInteger, nullable=True),
    Col("revoked_at", sa.BigInteger, nullable=True),
)


# A reconciliation repair: what differed from the venue and what was done about it.
#
# ``kind`` names the repair (``fill_booked``, ``order_closed``, ``order_unknown_resolved``,
# ``unknown_venue_order``, ``balance_adjusted``, …); ``detail`` says it in words.
reconciliation_repairs = sa.Table(
    "reconciliation_repairs",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("ts", sa.BigInteger),
    Col("account_id", sa.String(ID)),
    Col("kind", sa.String(NAME)),
    Col("client_id", sa.String(ID), nullable=True),
    Col("symbol", sa.String(NAME), nullable=True),
    Col("detail", sa.Text),
    sa.Index("ix_reconciliation_repairs_account_id_ts", "account_id", "ts"),
)


# A Telegram user and the one investor account they own.
investors = sa.Table(
    "investors",
    metadata,
    Col("telegram_id", sa.BigInteger, primary_key=True, autoincrement=False),
    Col("account_id", sa.String(ID), unique=True),
    Col("accepted_disclaimer", sa.Boolean),
    Col("profile", sa.String(NAME)),
    Col("capital", Money),
    Col("mode", sa.String(CODE)),
    Col("created_at", sa.BigInteger),
)


# An account's exchange API key and secret, AES-GCM encrypted (rampart.security.secrets);
# ``key_id`` names the master key that sealed it, so rotation can find what is left.
credentials = sa.Table(
    "credentials",
    metadata,
    Col("account_id", sa.String(ID), primary_key=True),
    Col("exchange", sa.String(NAME)),
    Col("ciphertext", sa.LargeBinary),
    Col("nonce", sa.LargeBinary),
    Col("key_id", sa.String(CODE)),
    Col("created_at", sa.BigInteger),
)


# Tables of later revisions live in this package's other modules; importing them here puts
# them in ``metadata`` (they take it from ``columns``, so none imports this module back).
from rampart.store.models import (  # noqa: E402, F401
    audit,
    budget,
    llm,
    market,
    notify,
    ops,
    panel,
    people,
    registry,
    reports,
    research,
    rollout,
    scale,
    solana,
)
