"""An account's performance net of deposits and withdrawals: today, this week and since it
began, as ``/profit`` and ``GET /api/v1/accounts/{id}/profit`` show it.

The same time-weighted index as the reports (:func:`rampart.reports.equity.growth`), over
the account's equity snapshots, its live equity now, and the capital it began with: money put
in or taken out moves the equity, never the return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from rampart.clock import shown_ms
from rampart.operator.profit import day_start, week_start
from rampart.reports.equity import growth

PLACES = Decimal("1e-10")


@dataclass(frozen=True, slots=True)
class Returns:
    """Fractions (0.0123 = +1.23 %); None where there is nothing to measure yet."""

    today: Decimal | None
    week: Decimal | None
    all: Decimal | None


def account_returns(
    account_id: str,
    snapshots: Sequence[tuple[int, Decimal]],
    flows: Sequence[tuple[int, Decimal]],
    *,
    created: int,
    capital: Decimal,
    now: int,
    equity: Decimal,
) -> Returns:
    """``snapshots`` (ts, equity) stored, ``flows`` (ts, amount) every deposit (+) and
    withdrawal (−) since ``created``, ``capital`` what the account holds as capital now,
    ``equity`` its equity at business time ``now``.

    Days and weeks are those people lived, as in :func:`rampart.operator.profit.summarize`
    ("Realised today" beside "Return today" in one message: one day): on a simulated feed the
    wall days its times stand for (:func:`rampart.clock.shown_ms`), else business days."""
    snapshots = [(shown_ms(ts), e) for ts, e in snapshots]
    flows = [(shown_ms(ts), amount) for ts, amount in flows]
    created, now = shown_ms(created), shown_ms(now)
    began = capital - sum((amount for _, amount in flows), Decimal(0))
    points = sorted([(created, began), *((ts, e) for ts, e in snapshots if ts >= created)])
    # The live equity comes after everything recorded at `now` (a deposit the investor just
    # made is in it), so it is placed just after that time.
    points.append((now + 1, equity))
    moved = [(account_id, ts, amount) for ts, amount in flows]

    def since(start: int) -> Decimal | None:
        before = [(ts, e) for ts, e in points if ts < start]
        carried = {account_id: before[-1]} if before else {}
        inside = [(account_id, ts, e) for ts, e in points if ts >= start]
        found = growth(carried, inside, moved, start, now + 2).total_return
        return None if found is None else Decimal(repr(found)).quantize(PLACES)

    return Returns(since(day_start(now)), since(week_start(now)), since(created))
