"""Reads for the live view, the CLI and the HTTP API. Newest first unless a function says not.

Every function takes the engine from :func:`rampart.store.db.open_database`; a database failure
becomes a StoreError with one sentence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.domain.intents import Intent
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.domain.positions import ClosedTrade
from rampart.store import models as m
from rampart.store.errors import translating
from rampart.store.records import (
    AccountEventRecord,
    AccountRecord,
    EquityPoint,
    EquityRecord,
    FillRecord,
    PositionRecord,
    RejectionRecord,
    TransitionRecord,
    account_event_record,
    account_record,
    equity_record,
    fill_record,
    intent_from_row,
    order_from_row,
    position_record,
    rejection_record,
    trade_from_row,
    transition_record,
)

T = TypeVar("T")
MAX_LIMIT = 10_000


def _rows(engine: sa.Engine, stmt: Any, what: str) -> Sequence[Any]:
    with translating(f"Reading {what} from the database failed"), engine.connect() as conn:
        return conn.execute(stmt).all()


def _read(engine: sa.Engine, stmt: Any, what: str, convert: Callable[[Any], T]) -> list[T]:
    return [convert(row) for row in _rows(engine, stmt, what)]


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise StoreError(f"The limit must be a whole number from 1 to {MAX_LIMIT:,}.")
    return limit


def _for_account(stmt: Any, column: Any, account_id: str | None) -> Any:
    return stmt if account_id is None else stmt.where(column == account_id)


def load_checkpoint(engine: sa.Engine, name: str) -> tuple[int, dict[str, Any]] | None:
    """The checkpoint saved under ``name`` as ``(ts, payload)``, or None if there is none."""
    c = m.checkpoints.c
    found = _rows(engine, sa.select(c.ts, c.payload).where(c.name == name), "the checkpoint")
    if not found:
        return None
    ts, payload = found[0]
    return int(ts), payload


def list_accounts(engine: sa.Engine) -> list[AccountRecord]:
    """Every account, by id."""
    stmt = sa.select(m.accounts).order_by(m.accounts.c.account_id)
    return _read(engine, stmt, "accounts", account_record)


def recent_orders(
    engine: sa.Engine, account_id: str | None = None, limit: int = 20, *, open_only: bool = False
) -> list[Order]:
    """Orders by last update, newest first, each with its status history."""
    c = m.orders.c
    stmt = _for_account(sa.select(m.orders), c.account_id, account_id)
    if open_only:
        terminal = [s.value for s in OrderStatus if s.terminal]
        stmt = stmt.where(c.status.not_in(terminal))
    stmt = stmt.order_by(c.updated_at.desc(), c.client_id.desc()).limit(_limit(limit))
    found = _rows(engine, stmt, "orders")
    histories = _histories(engine, [row.client_id for row in found])
    return [order_from_row(row, histories.get(row.client_id, [])) for row in found]


def _histories(
    engine: sa.Engine, client_ids: list[str]
) -> dict[str, list[tuple[int, OrderStatus]]]:
    result: dict[str, list[tuple[int, OrderStatus]]] = defaultdict(list)
    if not client_ids:
        return result
    t = m.order_transitions.c
    stmt = (
        sa.select(t.client_id, t.ts, t.previous, t.status)
        .where(t.client_id.in_(client_ids))
        .order_by(t.id)
    )
    new = OrderStatus.NEW.value
    for row in _rows(engine, stmt, "order history"):
        # The registration row (new → new) is not a transition of the state machine.
        if not (row.previous == new and row.status == new):
            result[row.client_id].append((row.ts, OrderStatus(row.status)))
    return result


def order_transitions(engine: sa.Engine, client_id: str) -> list[TransitionRecord]:
    """Every recorded update of one order, oldest first, registration included."""
    t = m.order_transitions.c
    stmt = sa.select(m.order_transitions).where(t.client_id == client_id).order_by(t.id)
    return _read(engine, stmt, "order history", transition_record)


def open_positions(engine: sa.Engine, account_id: str | None = None) -> list[PositionRecord]:
    """Open positions by account and symbol."""
    c = m.positions.c
    stmt = _for_account(sa.select(m.positions), c.account_id, account_id)
    stmt = stmt.order_by(c.account_id, c.symbol)
    return _read(engine, stmt, "positions", position_record)


def recent_fills(
    engine: sa.Engine, account_id: str | None = None, limit: int = 50
) -> list[FillRecord]:
    c = m.fills.c
    stmt = _for_account(sa.select(m.fills), c.account_id, account_id)
    stmt = stmt.order_by(c.ts.desc(), c.fill_id.desc()).limit(_limit(limit))
    return _read(engine, stmt, "fills", fill_record)


def recent_rejections(
    engine: sa.Engine, account_id: str | None = None, limit: int = 20
) -> list[RejectionRecord]:
    """Why intents were refused, newest first (what ``/why`` shows)."""
    c = m.rejections.c
    stmt = _for_account(sa.select(m.rejections), c.account_id, account_id)
    stmt = stmt.order_by(c.ts.desc(), c.id.desc()).limit(_limit(limit))
    return _read(engine, stmt, "rejections", rejection_record)


def recent_intents(
    engine: sa.Engine, account_id: str | None = None, limit: int = 20
) -> list[Intent]:
    c = m.intents.c
    stmt = _for_account(sa.select(m.intents), c.account_id, account_id)
    stmt = stmt.order_by(c.ts.desc(), c.id.desc()).limit(_limit(limit))
    return _read(engine, stmt, "intents", intent_from_row)


def trades(
    engine: sa.Engine,
    account_id: str | None = None,
    since_ts: int | None = None,
    limit: int | None = None,
) -> list[ClosedTrade]:
    """Closed trades, most recently closed first; ``since_ts`` keeps those closed at or after,
    ``limit`` the newest so many (None: all)."""
    c = m.trades.c
    stmt = _for_account(sa.select(m.trades), c.account_id, account_id)
    if since_ts is not None:
        stmt = stmt.where(c.closed_at >= since_ts)
    stmt = stmt.order_by(c.closed_at.desc(), c.id.desc())
    if limit is not None:
        stmt = stmt.limit(_limit(limit))
    return _read(engine, stmt, "trades", trade_from_row)


def trades_as_closed(engine: sa.Engine, account_id: str | None = None) -> list[ClosedTrade]:
    """Closed trades in the order they closed (oldest first), as a replay report lists them."""
    c = m.trades.c
    stmt = _for_account(sa.select(m.trades), c.account_id, account_id).order_by(c.id)
    return _read(engine, stmt, "trades", trade_from_row)


def equity_history(
    engine: sa.Engine, account_id: str, since_ts: int | None = None, limit: int | None = None
) -> list[EquityPoint]:
    """The account's equity curve, oldest first (a curve is read forwards); ``limit``: its
    newest so many points (None: all of it)."""
    c = m.equity_snapshots.c
    stmt = sa.select(c.ts, c.equity).where(c.account_id == account_id)
    if since_ts is not None:
        stmt = stmt.where(c.ts >= since_ts)
    if limit is None:
        stmt = stmt.order_by(c.ts, c.id)
        return _read(engine, stmt, "equity history", _point)
    # Newest first through the (account, ts) index, so only ``limit`` rows are read.
    stmt = stmt.order_by(c.ts.desc(), c.id.desc()).limit(_limit(limit))
    return _read(engine, stmt, "equity history", _point)[::-1]


def _point(row: Any) -> EquityPoint:
    return EquityPoint(row.ts, row.equity)


def latest_equity(engine: sa.Engine, account_id: str) -> EquityRecord | None:
    """The newest equity snapshot of an account: cash, positions value, equity, realized PnL."""
    c = m.equity_snapshots.c
    stmt = (
        sa.select(m.equity_snapshots)
        .where(c.account_id == account_id)
        .order_by(c.ts.desc(), c.id.desc())
        .limit(1)
    )
    found = _read(engine, stmt, "equity", equity_record)
    return found[0] if found else None


def account_events(
    engine: sa.Engine, scope: str | None = None, kind: str | None = None, limit: int = 50
) -> list[AccountEventRecord]:
    """State changes, breaker trips, kill switches and invariant violations, newest first."""
    c = m.account_events.c
    stmt = sa.select(m.account_events)
    if scope is not None:
        stmt = stmt.where(c.scope == scope)
    if kind is not None:
        stmt = stmt.where(c.kind == kind)
    stmt = stmt.order_by(c.ts.desc(), c.id.desc()).limit(_limit(limit))
    return _read(engine, stmt, "account events", account_event_record)


def account_created(engine: sa.Engine, account_id: str) -> int | None:
    """When the account was first saved (business time, UTC ms), or None if it never was."""
    c = m.accounts.c
    found = _rows(engine, sa.select(c.created_at).where(c.account_id == account_id), "the account")
    return int(found[0][0]) if found else None


def exit_reasons(engine: sa.Engine, account_id: str, entry_ids: Sequence[str]) -> dict[str, str]:
    """The reason of the order that closed each position, by its entry order's client id: the
    filled exit order (market close) among the position's children, when there is one."""
    if not entry_ids:
        return {}
    c = m.orders.c
    stmt = (
        sa.select(c.parent_id, c.reason)
        .where(c.account_id == account_id)
        .where(c.role == OrderRole.EXIT.value)
        .where(c.status == OrderStatus.FILLED.value)
        .where(c.parent_id.in_(list(entry_ids)))
        .order_by(c.updated_at)
    )
    return {str(row.parent_id): str(row.reason) for row in _rows(engine, stmt, "exit orders")}
