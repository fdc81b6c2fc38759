"""Initial schema: accounts, orders and their transitions, fills, positions, trades, equity,
intents, rejections, account events and checkpoints.

Written by hand and frozen: it does not import the models, so later model changes cannot
rewrite history. A test checks that head matches ``rampart.store.models`` exactly.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 128
NAME = 64
CODE = 32


def money() -> sa.types.TypeEngine[object]:
    # Exact decimals: text on SQLite, unconstrained NUMERIC on PostgreSQL (see store/types.py).
    return sa.String(64).with_variant(sa.Numeric(), "postgresql")


def auto_id() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def ms(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def text(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False)


def amount(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, money(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "accounts",
        text("account_id", ID),
        text("owner", ID),
        text("agent", NAME),
        text("profile", NAME),
        amount("capital"),
        text("quote", CODE),
        sa.Column("symbols", sa.JSON(), nullable=False),
        text("state", CODE),
        sa.Column("paused", sa.Boolean(), nullable=False),
        ms("created_at"),
        ms("updated_at"),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )
    op.create_table(
        "orders",
        text("client_id", ID),
        text("account_id", ID),
        text("symbol", NAME),
        text("side", CODE),
        text("type", CODE),
        text("role", CODE),
        amount("qty"),
        amount("price", nullable=True),
        amount("stop_price", nullable=True),
        text("status", CODE),
        amount("filled_qty"),
        amount("avg_fill_price"),
        amount("fees"),
        sa.Column("venue_order_id", sa.String(ID), nullable=True),
        sa.Column("oco_group", sa.String(ID), nullable=True),
        sa.Column("parent_id", sa.String(ID), nullable=True),
        text("strategy", NAME),
        sa.Column("reason", sa.Text(), nullable=False),
        ms("created_at"),
        ms("updated_at"),
        sa.PrimaryKeyConstraint("client_id", name="pk_orders"),
    )
    op.create_index("ix_orders_account_updated", "orders", ["account_id", "updated_at"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "order_transitions",
        auto_id(),
        text("client_id", ID),
        text("account_id", ID),
        ms("ts"),
        text("previous", CODE),
        text("status", CODE),
        sa.PrimaryKeyConstraint("id", name="pk_order_transitions"),
    )
    op.create_index("ix_order_transitions_client", "order_transitions", ["client_id", "id"])
    op.create_table(
        "fills",
        text("fill_id", ID),
        text("client_id", ID),
        text("account_id", ID),
        text("symbol", NAME),
        text("side", CODE),
        amount("qty"),
        amount("price"),
        amount("fee"),
        text("liquidity", CODE),
        text("role", CODE),
        text("strategy", NAME),
        ms("ts"),
        sa.PrimaryKeyConstraint("fill_id", name="pk_fills"),
    )
    op.create_index("ix_fills_account_ts", "fills", ["account_id", "ts"])
    op.create_table(
        "positions",
        text("account_id", ID),
        text("symbol", NAME),
        text("strategy", NAME),
        amount("qty"),
        amount("avg_price"),
        amount("stop_loss"),
        amount("take_profit"),
        text("entry_client_id", ID),
        ms("opened_at"),
        amount("realized_gross"),
        amount("entry_fees"),
        amount("exit_fees"),
        amount("bought_qty"),
        amount("sold_qty"),
        amount("sold_value"),
        amount("initial_stop"),
        ms("updated_at"),
        sa.PrimaryKeyConstraint("account_id", "symbol", name="pk_positions"),
    )
    op.create_table(
        "trades",
        auto_id(),
        text("account_id", ID),
        text("symbol", NAME),
        text("strategy", NAME),
        text("entry_client_id", ID),
        ms("opened_at"),
        ms("closed_at"),
        amount("qty"),
        amount("entry_price"),
        amount("exit_price"),
        amount("gross_pnl"),
        amount("fees"),
        amount("pnl"),
        text("exit_reason", CODE),
        amount("stop_loss"),
        amount("take_profit"),
        amount("risk"),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        sa.UniqueConstraint("entry_client_id", name="uq_trades_entry_client_id"),
    )
    op.create_index("ix_trades_account_closed", "trades", ["account_id", "closed_at"])
    op.create_table(
        "equity_snapshots",
        auto_id(),
        text("account_id", ID),
        ms("ts"),
        amount("cash"),
        amount("positions_value"),
        amount("equity"),
        amount("realized_pnl"),
        sa.PrimaryKeyConstraint("id", name="pk_equity_snapshots"),
    )
    op.create_index("ix_equity_snapshots_account_ts", "equity_snapshots", ["account_id", "ts"])
    op.create_table(
        "intents",
        auto_id(),
        text("account_id", ID),
        text("symbol", NAME),
        text("side", CODE),
        text("action", CODE),
        amount("entry_price"),
        amount("stop_loss"),
        amount("take_profit"),
        amount("size_hint"),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        text("agent", NAME),
        ms("ts"),
        sa.PrimaryKeyConstraint("id", name="pk_intents"),
    )
    op.create_index("ix_intents_account_ts", "intents", ["account_id", "ts"])
    op.create_table(
        "rejections",
        auto_id(),
        text("account_id", ID),
        text("symbol", NAME),
        text("agent", NAME),
        text("side", CODE),
        text("code", NAME),
        sa.Column("message", sa.Text(), nullable=False),
        amount("entry_price"),
        amount("stop_loss"),
        amount("take_profit"),
        ms("ts"),
        sa.PrimaryKeyConstraint("id", name="pk_rejections"),
    )
    op.create_index("ix_rejections_account_ts", "rejections", ["account_id", "ts"])
    op.create_table(
        "account_events",
        auto_id(),
        text("scope", ID),
        text("kind", CODE),
        text("old", NAME),
        text("new", NAME),
        sa.Column("reason", sa.Text(), nullable=False),
        text("actor", ID),
        sa.Column("flatten", sa.Boolean(), nullable=False),
        ms("ts"),
        sa.PrimaryKeyConstraint("id", name="pk_account_events"),
    )
    op.create_index("ix_account_events_scope_ts", "account_events", ["scope", "ts"])
    op.create_table(
        "checkpoints",
        text("name", ID),
        ms("ts"),
        sa.Column("payload", sa.JSON(), nullable=False),
        ms("updated_at"),
        sa.PrimaryKeyConstraint("name", name="pk_checkpoints"),
    )


def downgrade() -> None:
    for table in (
        "checkpoints",
        "account_events",
        "rejections",
        "intents",
        "equity_snapshots",
        "trades",
        "positions",
        "fills",
        "order_transitions",
        "orders",
        "accounts",
    ):
        op.drop_table(table)
