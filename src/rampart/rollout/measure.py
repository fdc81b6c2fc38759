"""Each gate's metric, measured from what the store holds over ``[start, end)``.

- order success: orders created in the window that the venue did not refuse and whose outcome
  is known (not ``rejected``, not ``unknown``), over all orders created in the window;
- execution errors: orders whose outcome was lost (``unknown``: a timeout, a dropped
  connection) over all orders created in the window;
- P0 (and P1) incidents during the window: opened before its end and not resolved before its
  start, so one that opened and resolved inside the window counts (``measure_launch``);
- uptime: the service's heartbeat spans (``ops_records.uptime``), counted from the service's
  first start when the window reaches back before it;
- p95 order latency: from an order's registration (its first ``order_transitions`` row, status
  ``new``) to the first row saying the venue took it (``submitted``, ``partially_filled`` or
  ``filled``); orders the venue never acknowledged are not latency samples;
- position losses beyond limit: trades closed in the window that lost more than
  ``loss_multiple`` times their planned risk (a stop that gapped);
- users trading, trading profit and Sharpe against buy-and-hold: see ``measure_launch``.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from rampart.rollout.measure_launch import (
    Closes,
    incidents_in_window,
    profit,
    sharpe_vs_hold,
    users_trading,
)
from rampart.rollout.rules.gates import (
    EXECUTION_ERRORS,
    LATENCY_P95,
    NEW_ORDERS_REJECTED,
    OPEN_P0,
    ORDER_SUCCESS,
    P1_INCIDENTS,
    POSITION_LOSSES,
    PROFIT,
    SHARPE_VS_HOLD,
    TRADING_USERS,
    UPTIME,
    Measurement,
)
from rampart.store.models import order_transitions, orders, trades
from rampart.store.models.ops import uptime_spans
from rampart.store.ops_records import uptime

DEPLOY_ROLLED_BACK = "DeployRolledBack"
"""The alert rule of a deploy its gates rolled back (rampart.observability.alerts.rules_deploy)."""
ACKNOWLEDGED = ("submitted", "partially_filled", "filled")
FAILED = ("rejected", "unknown")


Accounts = Collection[str] | None
"""Only these accounts' orders and trades (a blue-green deploy's moved ones); None: all."""


def _only(column: sa.ColumnElement[Any], accounts: Accounts) -> sa.ColumnElement[bool]:
    return sa.true() if accounts is None else column.in_(sorted(accounts))


def _order_counts(db: sa.Engine, start: int, end: int, accounts: Accounts) -> dict[str, int]:
    """Orders created in the window, by status."""
    in_window = sa.and_(
        orders.c.created_at >= start,
        orders.c.created_at < end,
        _only(orders.c.account_id, accounts),
    )
    query = sa.select(orders.c.status, sa.func.count()).where(in_window).group_by(orders.c.status)
    with db.connect() as conn:
        return {str(status): int(n) for status, n in conn.execute(query).all()}


def _orders(
    db: sa.Engine, start: int, end: int, accounts: Accounts = None
) -> tuple[Measurement, Measurement]:
    return _success_and_errors(_order_counts(db, start, end, accounts))


def _success_and_errors(counts: dict[str, int]) -> tuple[Measurement, Measurement]:
    total = sum(counts.values())
    failed = sum(counts.get(s, 0) for s in FAILED)
    lost = counts.get("unknown", 0)
    if total == 0:
        return Measurement(None, 0), Measurement(None, 0)
    success = Measurement((total - failed) / total, total, f"{failed} of {total} refused or lost")
    errors = Measurement(lost / total, total, f"{lost} of {total} with an unknown outcome")
    return success, errors


REJECTED_JUDGED_FROM = 3
"""Orders in the window before their refused share says anything about a version."""


def _rejected(counts: dict[str, int]) -> Measurement:
    """The share of the window's orders the venue refused (``rejected``). Under
    :data:`REJECTED_JUDGED_FROM` orders it is 0, a pass, not "inconclusive": a step whose moved
    accounts sent two orders must still be able to move on."""
    total = sum(counts.values())
    refused = counts.get("rejected", 0)
    said = f"{refused} of {total} refused by the venue"
    if total < REJECTED_JUDGED_FROM:
        return Measurement(0.0, total, f"{said}, too few to judge")
    return Measurement(refused / total, total, said)


def percentile(values: list[int], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``q`` of the samples ≤ it."""
    ordered = sorted(values)
    rank = max(1, -(-int(q * 1000) * len(ordered) // 1000))
    return float(ordered[min(rank, len(ordered)) - 1])


def _latency(db: sa.Engine, start: int, end: int, accounts: Accounts = None) -> Measurement:
    t = order_transitions
    created = sa.func.min(sa.case((t.c.status == "new", t.c.ts)))
    acked = sa.func.min(sa.case((t.c.status.in_(ACKNOWLEDGED), t.c.ts)))
    query = (
        sa.select(created.label("created"), acked.label("acked"))
        .where(t.c.ts >= start, t.c.ts < end, _only(t.c.account_id, accounts))
        .group_by(t.c.client_id)
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    samples = [int(a) - int(c) for c, a in rows if c is not None and a is not None]
    if not samples:
        return Measurement(None, 0)
    return Measurement(percentile(samples, 0.95), len(samples), f"max {max(samples):,} ms")


def _losses(
    db: sa.Engine, start: int, end: int, loss_multiple: float, accounts: Accounts = None
) -> Measurement:
    query = sa.select(trades.c.pnl, trades.c.risk).where(
        trades.c.closed_at >= start,
        trades.c.closed_at < end,
        _only(trades.c.account_id, accounts),
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    limit = Decimal(str(loss_multiple))
    beyond = sum(1 for pnl, risk in rows if risk > 0 and -pnl > limit * risk)
    return Measurement(float(beyond), len(rows), f"{beyond} of {len(rows)} closed trades")


def measure(
    db: sa.Engine,
    start: int,
    end: int,
    *,
    loss_multiple: float = 1.5,
    uptime_grace_ms: int = 30_000,
    closes: Closes | None = None,
    fee: float = 0.001,
) -> dict[str, Measurement]:
    success, errors = _orders(db, start, end)
    # Time before the service first ever started is not downtime: nothing was there to be down.
    with db.connect() as conn:
        first = conn.execute(sa.select(sa.func.min(uptime_spans.c.started_at))).scalar()
    up = uptime(db, max(start, int(first or start)), end, grace_ms=uptime_grace_ms)
    fraction = up.fraction
    return {
        ORDER_SUCCESS: success,
        EXECUTION_ERRORS: errors,
        OPEN_P0: incidents_in_window(db, "P0", start, end),
        P1_INCIDENTS: incidents_in_window(db, "P1", start, end),
        TRADING_USERS: users_trading(db, start, end),
        PROFIT: profit(db, start, end),
        SHARPE_VS_HOLD: sharpe_vs_hold(db, start, end, closes, fee),
        UPTIME: Measurement(
            fraction if up.spans else None, up.spans, f"{up.up_ms / 3_600_000:.1f} h up"
        ),
        LATENCY_P95: _latency(db, start, end),
        POSITION_LOSSES: _losses(db, start, end, loss_multiple),
    }


def measure_accounts(
    db: sa.Engine,
    start: int,
    end: int,
    accounts: Collection[str],
    *,
    loss_multiple: float = 1.5,
    deploy_started: int | None = None,
    old_workers: Collection[str] = (),
) -> dict[str, Measurement]:
    """The gates a blue-green deploy step is held to, on the accounts it moved:
    their orders' success, lost outcomes, latency and the share the venue refused (the new
    version's rejected orders), their trades' losses beyond limit, and
    the service's P0 and P1 incidents over the window opened since ``deploy_started`` (but a
    deploy's own rollback incident, which would otherwise roll back the next deploy started
    while it is open). An incident opened before the deploy started is not the new version's:
    counted, a healthy deploy rolled back at its first check, and no version could be deployed
    while any older incident stayed open, the fix for it included. Nor is one that names only
    ``old_workers`` (the old version's: a stalled old worker is not the new version failing)."""
    counts = _order_counts(db, start, end, accounts)
    success, errors = _success_and_errors(counts)
    rejected = _rejected(counts)
    kw: dict[str, Any] = {
        "besides": (DEPLOY_ROLLED_BACK,),
        "opened_since": deploy_started,
        "not_of": old_workers,
    }
    return {
        ORDER_SUCCESS: success,
        EXECUTION_ERRORS: errors,
        OPEN_P0: incidents_in_window(db, "P0", start, end, **kw),
        P1_INCIDENTS: incidents_in_window(db, "P1", start, end, **kw),
        LATENCY_P95: _latency(db, start, end, accounts),
        POSITION_LOSSES: _losses(db, start, end, loss_multiple, accounts),
        NEW_ORDERS_REJECTED: rejected,
    }
