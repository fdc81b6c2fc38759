"""Stored reports: one row per kind, scope and period (a regenerated report replaces the old
one), its PNG charts beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from rampart.store.models.reports import report_charts, reports

OPERATOR_SCOPE = "all"


@dataclass(frozen=True, slots=True)
class StoredReport:
    id: int
    kind: str
    scope: str
    period_start: int
    period_end: int
    created_at: int
    markdown: str
    figures: dict[str, Any]
    charts: dict[str, bytes] = field(default_factory=dict)

    def listing(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "scope": self.scope,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "created_at": self.created_at,
        }


def save_report(
    engine: sa.Engine,
    *,
    kind: str,
    scope: str,
    period_start: int,
    period_end: int,
    created_at: int,
    markdown: str,
    figures: dict[str, Any],
    charts: dict[str, bytes],
) -> int:
    """Store a report (replacing the one for the same kind, scope and period); its id."""
    key = sa.and_(
        reports.c.kind == kind, reports.c.scope == scope, reports.c.period_start == period_start
    )
    with engine.begin() as conn:
        old = conn.execute(sa.select(reports.c.id).where(key)).scalars().all()
        if old:
            conn.execute(report_charts.delete().where(report_charts.c.report_id.in_(old)))
            conn.execute(reports.delete().where(reports.c.id.in_(old)))
        result = conn.execute(
            reports.insert().values(
                kind=kind,
                scope=scope,
                period_start=period_start,
                period_end=period_end,
                created_at=created_at,
                markdown=markdown,
                figures=figures,
            )
        )
        report_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        for name, png in charts.items():
            conn.execute(report_charts.insert().values(report_id=report_id, name=name, png=png))
    return report_id


def _stored(row: Any, charts: dict[str, bytes] | None = None) -> StoredReport:
    return StoredReport(
        id=row["id"],
        kind=row["kind"],
        scope=row["scope"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        created_at=row["created_at"],
        markdown=row["markdown"],
        figures=dict(row["figures"] or {}),
        charts=charts or {},
    )


def list_reports(
    engine: sa.Engine,
    *,
    kind: str | None = None,
    scope: str | None = None,
    limit: int = 50,
) -> list[StoredReport]:
    """Newest period first, without charts."""
    stmt = sa.select(reports)
    if kind is not None:
        stmt = stmt.where(reports.c.kind == kind)
    if scope is not None:
        stmt = stmt.where(reports.c.scope == scope)
    stmt = stmt.order_by(reports.c.period_start.desc(), reports.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [_stored(r) for r in conn.execute(stmt).mappings().all()]


def get_report(engine: sa.Engine, report_id: int) -> StoredReport | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(reports).where(reports.c.id == report_id)).mappings().first()
        if row is None:
            return None
        charts = conn.execute(
            sa.select(report_charts.c.name, report_charts.c.png)
            .where(report_charts.c.report_id == report_id)
            .order_by(report_charts.c.id)
        ).all()
    return _stored(row, {name: bytes(png) for name, png in charts})


def find_report(engine: sa.Engine, kind: str, scope: str, period_start: int) -> int | None:
    stmt = sa.select(reports.c.id).where(
        reports.c.kind == kind, reports.c.scope == scope, reports.c.period_start == period_start
    )
    with engine.connect() as conn:
        found = conn.execute(stmt).scalar()
    return None if found is None else int(found)
