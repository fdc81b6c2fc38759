"""The launch plans' gates measured from the store over ``[start, end)``:

- P1 incidents during the window (opened before its end and not resolved before its start);
- users trading: distinct account owners with an order created in the window;
- trading profit: the net PnL of the trades closed in the window (samples: those trades);
- Sharpe against buy-and-hold: the summed equity snapshots' Sharpe minus buying and holding
  the traded symbols (an equal-weight basket) over the same candles, both read per hour by
  :mod:`rampart.domain.performance` (the research tools' arithmetic); samples are the hourly
  returns. Without candles for the window (a process that has none) it is inconclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from decimal import Decimal

import sqlalchemy as sa

from rampart.domain.performance import HOUR_MS, Point, compare_with_buy_and_hold
from rampart.rollout.rules.gates import SHARPE_MARGIN, Measurement
from rampart.store.models import accounts, equity_snapshots, incidents, orders, trades

Closes = Callable[[int, int], dict[str, list[Point]]]
"""Candle closes per symbol over ``[start, end)``, oldest first (a feed, the engine's history)."""


PROCESS_LABELS = ("component", "process")
"""The labels by which an incident names the process it is about (WorkerDown's worker,
MemoryGrowth's and DatabaseSlow's process)."""


def incidents_in_window(
    db: sa.Engine,
    severity: str,
    start: int,
    end: int,
    *,
    besides: Collection[str] = (),
    opened_since: int | None = None,
    not_of: Collection[str] = (),
) -> Measurement:
    """``besides``: rules whose incidents are not counted (a deploy's own rollback incident
    must not roll back the deploy that follows it). ``opened_since``: only incidents opened
    then or later (a deploy is judged by what came after it started, not by older ones).
    ``not_of``: processes whose incidents are not counted (the old version's workers: a
    deploy is judged by what the new version's processes did, not by a stalled old worker)."""
    i = incidents
    query = sa.select(i.c.labels).where(
        i.c.severity == severity,
        i.c.opened_at < end,
        i.c.opened_at >= opened_since if opened_since is not None else sa.true(),
        sa.or_(i.c.resolved_at.is_(None), i.c.resolved_at >= start),
        i.c.rule.not_in(sorted(besides)) if besides else sa.true(),
    )
    with db.connect() as conn:
        stored: list[object] = list(conn.scalars(query).all())
    found: list[dict[str, object]] = [
        labels if isinstance(labels, dict) else {} for labels in stored
    ]
    others = set(not_of)
    count = sum(1 for labels in found if not _only_of(labels, others))
    # A count of incidents is a measurement even when it is zero: one sample, the window.
    return Measurement(float(count), 1, f"{count} {severity} incident(s) in the window")


def _only_of(labels: dict[str, object], processes: set[str]) -> bool:
    """Whether the incident names a process, and only processes of ``processes``."""
    named = [str(labels[k]) for k in PROCESS_LABELS if k in labels]
    return bool(named) and all(name in processes for name in named)


def users_trading(db: sa.Engine, start: int, end: int) -> Measurement:
    who = sa.func.coalesce(accounts.c.owner, orders.c.account_id)
    query = (
        sa.select(sa.func.count(sa.distinct(who)))
        .select_from(orders.outerjoin(accounts, accounts.c.account_id == orders.c.account_id))
        .where(orders.c.created_at >= start, orders.c.created_at < end)
    )
    with db.connect() as conn:
        count = int(conn.execute(query).scalar_one())
    return Measurement(float(count), 1, f"{count} investor(s) with orders in the window")


def profit(
    db: sa.Engine, start: int, end: int, accounts: Collection[str] | None = None
) -> Measurement:
    """``accounts``: only theirs (a deploy's moved accounts); None: every account's."""
    only = sa.true() if accounts is None else trades.c.account_id.in_(sorted(accounts))
    query = sa.select(trades.c.pnl).where(
        trades.c.closed_at >= start, trades.c.closed_at < end, only
    )
    with db.connect() as conn:
        pnls = [Decimal(str(p)) for (p,) in conn.execute(query).all()]
    if not pnls:
        return Measurement(None, 0)
    won = sum(1 for p in pnls if p > 0)
    total = float(sum(pnls, Decimal(0)))
    return Measurement(total, len(pnls), f"{won} of {len(pnls)} closed trades won")


def _equity_curve(db: sa.Engine, start: int, end: int) -> list[Point]:
    e = equity_snapshots
    query = (
        sa.select(e.c.ts, sa.func.sum(e.c.equity))
        .where(e.c.ts >= start, e.c.ts < end)
        .group_by(e.c.ts)
        .order_by(e.c.ts)
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    return [(int(str(ts)), float(str(total))) for ts, total in rows]


def basket(series: Sequence[list[Point]]) -> list[Point]:
    """Equal-weight basket of several close series, each scaled to 1 at its first close, on
    the timestamps they all have."""
    usable = [s for s in series if s and s[0][1] > 0]
    if not usable:
        return []
    common = set.intersection(*({ts for ts, _ in s} for s in usable))
    scaled = [{ts: close / s[0][1] for ts, close in s} for s in usable]
    return [(ts, sum(m[ts] for m in scaled) / len(scaled)) for ts in sorted(common)]


def sharpe_vs_hold(
    db: sa.Engine, start: int, end: int, closes: Closes | None, fee: float
) -> Measurement:
    curve = _equity_curve(db, start, end)
    prices = basket(list(closes(start, end).values())) if closes is not None else []
    if not prices:
        return Measurement(None, 0, "no candles for the window in this process")
    comp = compare_with_buy_and_hold(curve, prices, HOUR_MS, fee=fee, margin=SHARPE_MARGIN)
    ours, theirs = comp.strategy.sharpe, comp.hold.sharpe
    if ours is None or theirs is None:
        return Measurement(None, comp.strategy.periods, comp.sentence())
    detail = f"Sharpe {ours:.2f} against buy-and-hold's {theirs:.2f} on the same candles"
    return Measurement(ours - theirs, comp.strategy.periods, detail)
