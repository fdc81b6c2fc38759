"""An entry's path through the store, for ``rampart trace ID``: the agent's intent, the risk
engine's verdict, every order of the position with its status changes, the fills, the closed
trade and the investor's notices. The trace id is the entry order's client id (its legs and
exits name it as their parent; the trade and the notices' keys carry it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.domain import money_format
from rampart.domain.symbols import quote_asset
from rampart.store.models import fills, intents, order_transitions, orders, rejections, trades
from rampart.store.models.notify import notify_outbox


@dataclass(frozen=True, slots=True)
class Step:
    ts: int
    stage: str
    """agent, risk, order, fill, trade or notice."""
    what: str


def _money(value: Any, symbol: str) -> str:
    """Fees and PnL as every front shows them (``1.90 USDT``), not the stored ``1.902433313000``."""
    return money_format.money(value, quote_asset(symbol))


def _pnl(value: Any, symbol: str) -> str:
    return money_format.pnl(value, quote_asset(symbol))


def _price(value: Any) -> str:
    return money_format.price(value)


def _qty(value: Any) -> str:
    return money_format.quantity(value)


def last_entry(db: sa.Engine) -> str | None:
    """``rampart trace last``: the entry of the trade closed last, or, before any trade has
    closed, the newest entry order (a position still open is traced as far as it has come)."""
    with db.connect() as conn:
        found = conn.execute(
            sa.select(trades.c.entry_client_id)
            .order_by(trades.c.closed_at.desc(), trades.c.id.desc())
            .limit(1)
        ).scalar()
        if found is None:
            found = conn.execute(
                sa.select(orders.c.client_id)
                .where(orders.c.role == "entry")
                .order_by(orders.c.created_at.desc(), orders.c.client_id.desc())
                .limit(1)
            ).scalar()
    return None if found is None else str(found)


def resolve(conn: sa.Connection, client_id: str) -> sa.Row | None:
    """The entry order ``client_id`` belongs to (itself, or its parent for a leg or exit)."""
    row = conn.execute(sa.select(orders).where(orders.c.client_id == client_id)).first()
    if row is not None and row.parent_id:
        return resolve(conn, str(row.parent_id))
    return row


def _intent(conn: sa.Connection, entry: sa.Row) -> list[Step]:
    i = intents
    row = conn.execute(sa.select(i).where(i.c.client_id == entry.client_id).limit(1)).first()
    if row is None:
        # Rows written before migration 0030 carry no trace id: the newest opening intent of
        # the same account and symbol before the entry is the best the store can say.
        row = conn.execute(
            sa.select(i)
            .where(
                i.c.account_id == entry.account_id,
                i.c.symbol == entry.symbol,
                i.c.action == "open",
                i.c.client_id.is_(None),
                i.c.ts <= entry.created_at,
            )
            .order_by(i.c.ts.desc(), i.c.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return [Step(entry.created_at, "agent", "no intent stored for this entry")]
    why = f": {row.rationale}" if row.rationale else ""
    refused = conn.execute(
        sa.select(sa.func.count())
        .select_from(rejections)
        .where(
            rejections.c.account_id == entry.account_id,
            rejections.c.symbol == entry.symbol,
            rejections.c.ts == row.ts,
        )
    ).scalar_one()
    verdict = (
        f"approved: {entry.side} {_qty(entry.qty)} {entry.symbol} sized by the {entry.account_id} "
        "account's risk profile"
    )
    if refused:
        verdict += f" ({refused} other intent(s) refused at the same time)"
    return [
        Step(
            int(row.ts),
            "agent",
            f"{row.agent} proposed {row.side} {row.symbol} at {_price(row.entry_price)}, "
            f"stop-loss {_price(row.stop_loss)}, take-profit {_price(row.take_profit)}{why}",
        ),
        Step(int(entry.created_at), "risk", verdict),
    ]


def trace_steps(db: sa.Engine, client_id: str) -> list[Step] | None:
    """Every step of the entry's path, oldest first; None when no such order is stored."""
    with db.connect() as conn:
        entry = resolve(conn, client_id)
        if entry is None:
            return None
        trace = str(entry.client_id)
        steps = _intent(conn, entry)
        legs = conn.execute(
            sa.select(orders)
            .where(sa.or_(orders.c.client_id == trace, orders.c.parent_id == trace))
            .order_by(orders.c.created_at, orders.c.client_id)
        ).all()
        ids = [str(o.client_id) for o in legs]
        moves = conn.execute(
            sa.select(order_transitions)
            .where(order_transitions.c.client_id.in_(ids))
            .order_by(order_transitions.c.id)
        ).all()
        for o in legs:
            path = [m for m in moves if m.client_id == o.client_id]
            seen = [path[0].previous, *(m.status for m in path)] if path else []
            # The registration row is new → new: each status once, in order.
            statuses = " → ".join(s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1])
            price = o.price if o.price is not None else o.stop_price
            at = f" at {_price(price)}" if price is not None else ""
            steps.append(
                Step(
                    int(o.created_at),
                    "order",
                    f"{o.role} {o.client_id}: {o.side} {_qty(o.qty)} {o.type}{at}; {statuses}",
                )
            )
        for f in conn.execute(
            sa.select(fills).where(fills.c.client_id.in_(ids)).order_by(fills.c.ts)
        ).all():
            steps.append(
                Step(
                    int(f.ts),
                    "fill",
                    f"{f.role} {f.client_id}: {f.side} {_qty(f.qty)} at "
                    f"{_price(f.price)}, fee {_money(f.fee, f.symbol)} ({f.liquidity})",
                )
            )
        trade = conn.execute(sa.select(trades).where(trades.c.entry_client_id == trace)).first()
        if trade is not None:
            steps.append(
                Step(
                    int(trade.closed_at),
                    "trade",
                    f"closed by {trade.exit_reason}: {_qty(trade.qty)} "
                    f"{_price(trade.entry_price)} → {_price(trade.exit_price)}, PnL "
                    f"{_pnl(trade.pnl, trade.symbol)} after fees "
                    f"{_money(trade.fees, trade.symbol)}",
                )
            )
        for n in conn.execute(
            sa.select(notify_outbox)
            .where(notify_outbox.c.key.like(f"%|{trace}%"))
            .order_by(notify_outbox.c.created_at)
        ).all():
            sent = "sent" if n.sent_at else "waiting to be sent"
            first = str(n.text).splitlines()[0] if n.text else ""
            steps.append(Step(int(n.created_at), "notice", f"{n.kind} ({sent}): {first}"))
    return sorted(steps, key=lambda s: s.ts)


__all__ = ["Step", "resolve", "trace_steps"]
