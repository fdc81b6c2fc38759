"""Tables. Every timestamp is a BigInteger of UTC milliseconds, as the domain events carry.

There are deliberately no foreign keys between these tables: events of different kinds arrive
in whatever order the engine publishes them, and a log row must never be refused because the
row it mentions has not been written yet. Revision 0001 must match this module exactly (a test
compares them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from rampart.store.types import Money

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid), never a BIGINT one.
AutoId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ID = 128
NAME = 64
CODE = 32


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so SQLite batch migrations can find them later."""


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: Money,
        int: sa.BigInteger,
        dict[str, Any]: sa.JSON,
    }


class AccountRow(Base):
    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(ID))
    agent: Mapped[str] = mapped_column(sa.String(NAME))
    profile: Mapped[str] = mapped_column(sa.String(NAME))
    capital: Mapped[Decimal]
    quote: Mapped[str] = mapped_column(sa.String(CODE))
    symbols: Mapped[list[str]] = mapped_column(sa.JSON)
    state: Mapped[str] = mapped_column(sa.String(CODE))
    paused: Mapped[bool]
    created_at: Mapped[int]
    updated_at: Mapped[int]


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        sa.Index("ix_orders_account_updated", "account_id", "updated_at"),
        sa.Index("ix_orders_status", "status"),
    )

    client_id: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    symbol: Mapped[str] = mapped_column(sa.String(NAME))
    side: Mapped[str] = mapped_column(sa.String(CODE))
    type: Mapped[str] = mapped_column(sa.String(CODE))
    role: Mapped[str] = mapped_column(sa.String(CODE))
    qty: Mapped[Decimal]
    price: Mapped[Decimal | None]
    stop_price: Mapped[Decimal | None]
    status: Mapped[str] = mapped_column(sa.String(CODE))
    filled_qty: Mapped[Decimal]
    avg_fill_price: Mapped[Decimal]
    fees: Mapped[Decimal]
    venue_order_id: Mapped[str | None] = mapped_column(sa.String(ID))
    oco_group: Mapped[str | None] = mapped_column(sa.String(ID))
    parent_id: Mapped[str | None] = mapped_column(sa.String(ID))
    strategy: Mapped[str] = mapped_column(sa.String(NAME))
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[int]
    updated_at: Mapped[int]


class OrderTransitionRow(Base):
    """Append-only: one row per published order update, ``previous → status``.

    The row written when an order is registered has ``previous == status == 'new'``.
    """

    __tablename__ = "order_transitions"
    __table_args__ = (sa.Index("ix_order_transitions_client", "client_id", "id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(sa.String(ID))
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    ts: Mapped[int]
    previous: Mapped[str] = mapped_column(sa.String(CODE))
    status: Mapped[str] = mapped_column(sa.String(CODE))


class FillRow(Base):
    __tablename__ = "fills"
    __table_args__ = (sa.Index("ix_fills_account_ts", "account_id", "ts"),)

    fill_id: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(ID))
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    symbol: Mapped[str] = mapped_column(sa.String(NAME))
    side: Mapped[str] = mapped_column(sa.String(CODE))
    qty: Mapped[Decimal]
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    liquidity: Mapped[str] = mapped_column(sa.String(CODE))
    role: Mapped[str] = mapped_column(sa.String(CODE))
    strategy: Mapped[str] = mapped_column(sa.String(NAME))
    ts: Mapped[int]


class PositionRow(Base):
    """Open positions only: a position that closes is deleted (its trade is in ``trades``).

    Besides the columns the live view shows, it keeps the ledger's bookkeeping (bought, sold,
    initial stop) so a row converts back to the exact domain Position.
    """

    __tablename__ = "positions"

    account_id: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    symbol: Mapped[str] = mapped_column(sa.String(NAME), primary_key=True)
    strategy: Mapped[str] = mapped_column(sa.String(NAME))
    qty: Mapped[Decimal]
    avg_price: Mapped[Decimal]
    stop_loss: Mapped[Decimal]
    take_profit: Mapped[Decimal]
    entry_client_id: Mapped[str] = mapped_column(sa.String(ID))
    opened_at: Mapped[int]
    realized_gross: Mapped[Decimal]
    entry_fees: Mapped[Decimal]
    exit_fees: Mapped[Decimal]
    bought_qty: Mapped[Decimal]
    bought_value: Mapped[Decimal]
    sold_qty: Mapped[Decimal]
    sold_value: Mapped[Decimal]
    initial_stop: Mapped[Decimal]
    updated_at: Mapped[int]


class TradeRow(Base):
    __tablename__ = "trades"
    __table_args__ = (
        sa.Index("ix_trades_account_closed", "account_id", "closed_at"),
        sa.UniqueConstraint("entry_client_id"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    symbol: Mapped[str] = mapped_column(sa.String(NAME))
    strategy: Mapped[str] = mapped_column(sa.String(NAME))
    entry_client_id: Mapped[str] = mapped_column(sa.String(ID))
    opened_at: Mapped[int]
    closed_at: Mapped[int]
    qty: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    exit_price: Mapped[Decimal]
    gross_pnl: Mapped[Decimal]
    fees: Mapped[Decimal]
    pnl: Mapped[Decimal]
    exit_reason: Mapped[str] = mapped_column(sa.String(CODE))
    stop_loss: Mapped[Decimal]
    take_profit: Mapped[Decimal]
    risk: Mapped[Decimal]


class EquitySnapshotRow(Base):
    __tablename__ = "equity_snapshots"
    __table_args__ = (sa.Index("ix_equity_snapshots_account_ts", "account_id", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    ts: Mapped[int]
    cash: Mapped[Decimal]
    positions_value: Mapped[Decimal]
    equity: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]


class IntentRow(Base):
    __tablename__ = "intents"
    __table_args__ = (sa.Index("ix_intents_account_ts", "account_id", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    symbol: Mapped[str] = mapped_column(sa.String(NAME))
    side: Mapped[str] = mapped_column(sa.String(CODE))
    action: Mapped[str] = mapped_column(sa.String(CODE))
    entry_price: Mapped[Decimal]
    stop_loss: Mapped[Decimal]
    take_profit: Mapped[Decimal]
    size_hint: Mapped[Decimal]
    confidence: Mapped[float] = mapped_column(sa.Float)
    rationale: Mapped[str] = mapped_column(sa.Text)
    agent: Mapped[str] = mapped_column(sa.String(NAME))
    ts: Mapped[int]


class RejectionRow(Base):
    __tablename__ = "rejections"
    __table_args__ = (sa.Index("ix_rejections_account_ts", "account_id", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    symbol: Mapped[str] = mapped_column(sa.String(NAME))
    agent: Mapped[str] = mapped_column(sa.String(NAME))
    side: Mapped[str] = mapped_column(sa.String(CODE))
    code: Mapped[str] = mapped_column(sa.String(NAME))
    message: Mapped[str] = mapped_column(sa.Text)
    entry_price: Mapped[Decimal]
    stop_loss: Mapped[Decimal]
    take_profit: Mapped[Decimal]
    ts: Mapped[int]


class AccountEventRow(Base):
    """State changes, breaker trips, kill switch engages/releases and invariant violations.

    ``scope`` is an account id or ``global``; ``kind`` is ``state``, ``breaker``,
    ``kill_switch`` or ``invariant``; ``new`` names what happened (the new state, the breaker,
    ``engaged``/``released``, the invariant) and ``reason`` says why in words.
    """

    __tablename__ = "account_events"
    __table_args__ = (sa.Index("ix_account_events_scope_ts", "scope", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(sa.String(ID))
    kind: Mapped[str] = mapped_column(sa.String(CODE))
    old: Mapped[str] = mapped_column(sa.String(NAME))
    new: Mapped[str] = mapped_column(sa.String(NAME))
    reason: Mapped[str] = mapped_column(sa.Text)
    actor: Mapped[str] = mapped_column(sa.String(ID))
    flatten: Mapped[bool]
    ts: Mapped[int]


class CheckpointRow(Base):
    """What a restart needs, saved in the same transaction as the rows it accounts for."""

    __tablename__ = "checkpoints"

    name: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    ts: Mapped[int]
    payload: Mapped[dict[str, Any]]
    updated_at: Mapped[int]


class IncidentRow(Base):
    """One alert incident: opened by a rule, acknowledged by an operator, resolved when clear.

    ``key`` deduplicates: at most one incident per key is not yet resolved. ``status`` is
    ``open``, ``acknowledged`` or ``resolved``; its timeline is in ``incident_events``.
    """

    __tablename__ = "incidents"
    __table_args__ = (sa.Index("ix_incidents_key_status", "key", "status"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(ID))
    rule: Mapped[str] = mapped_column(sa.String(NAME))
    severity: Mapped[str] = mapped_column(sa.String(CODE))
    status: Mapped[str] = mapped_column(sa.String(CODE))
    summary: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    threshold: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    labels: Mapped[dict[str, Any]]
    opened_at: Mapped[int]
    acknowledged_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(ID), nullable=True)
    resolved_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    last_notified_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    notifications: Mapped[int]
    eta_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    """When the operator expects it fixed (UTC ms), told to the investors it affects."""


class IncidentEventRow(Base):
    """The timeline of an incident: ``opened``, ``notified``, ``repeated``, ``acknowledged``,
    ``resolved``, and notification failures (``notify_failed``)."""

    __tablename__ = "incident_events"
    __table_args__ = (sa.Index("ix_incident_events_incident_id_ts", "incident_id", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int]
    ts: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(CODE))
    actor: Mapped[str] = mapped_column(sa.String(ID))
    note: Mapped[str] = mapped_column(sa.Text)


class ApiTokenRow(Base):
    """An API token, stored only as a hash. ``prefix`` is its first characters, for display.

    ``scope`` is ``admin``, ``read`` or ``user``; a user token belongs to ``account_id``.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(sa.String(ID), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(CODE))
    scope: Mapped[str] = mapped_column(sa.String(CODE))
    account_id: Mapped[str | None] = mapped_column(sa.String(ID), nullable=True)
    name: Mapped[str] = mapped_column(sa.String(NAME))
    created_at: Mapped[int]
    last_used_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    revoked_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class RepairRow(Base):
    """A reconciliation repair: what differed from the venue and what was done about it.

    ``kind`` names the repair (``fill_booked``, ``order_closed``, ``order_unknown_resolved``,
    ``unknown_venue_order``, ``balance_adjusted``, …); ``detail`` says it in words.
    """

    __tablename__ = "reconciliation_repairs"
    __table_args__ = (sa.Index("ix_reconciliation_repairs_account_id_ts", "account_id", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ts: Mapped[int]
    account_id: Mapped[str] = mapped_column(sa.String(ID))
    kind: Mapped[str] = mapped_column(sa.String(NAME))
    client_id: Mapped[str | None] = mapped_column(sa.String(ID), nullable=True)
    symbol: Mapped[str | None] = mapped_column(sa.String(NAME), nullable=True)
    detail: Mapped[str] = mapped_column(sa.Text)


class InvestorRow(Base):
    """A Telegram user and the one investor account they own."""

    __tablename__ = "investors"

    telegram_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    account_id: Mapped[str] = mapped_column(sa.String(ID), unique=True)
    accepted_disclaimer: Mapped[bool]
    profile: Mapped[str] = mapped_column(sa.String(NAME))
    capital: Mapped[Decimal]
    mode: Mapped[str] = mapped_column(sa.String(CODE))
    created_at: Mapped[int]


class CredentialRow(Base):
    """An account's exchange API key and secret, AES-GCM encrypted (rampart.security.secrets);
    ``key_id`` names the master key that sealed it, so rotation can find what is left."""

    __tablename__ = "credentials"

    account_id: Mapped[str] = mapped_column(sa.String(ID), primary_key=True)
    exchange: Mapped[str] = mapped_column(sa.String(NAME))
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary)
    key_id: Mapped[str] = mapped_column(sa.String(CODE))
    created_at: Mapped[int]


metadata = Base.metadata
accounts = AccountRow.__table__
orders = OrderRow.__table__
order_transitions = OrderTransitionRow.__table__
fills = FillRow.__table__
positions = PositionRow.__table__
trades = TradeRow.__table__
equity_snapshots = EquitySnapshotRow.__table__
intents = IntentRow.__table__
rejections = RejectionRow.__table__
account_events = AccountEventRow.__table__
checkpoints = CheckpointRow.__table__
incidents = IncidentRow.__table__
incident_events = IncidentEventRow.__table__
api_tokens = ApiTokenRow.__table__
reconciliation_repairs = RepairRow.__table__
investors = InvestorRow.__table__
credentials = CredentialRow.__table__

# Tables of later revisions live in their own modules; importing them here puts them in
# ``metadata`` (they import Base from this module, which is complete by now).
from rampart.store import (  # noqa: E402, F401
    models_audit,
    models_llm,
    models_notify,
    models_ops,
    models_registry,
    models_reports,
    models_rollout,
    models_solana,
)
