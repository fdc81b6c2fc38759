"""Tables of revision 0007: stored daily and weekly reports (issue 6)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import CODE, ID, NAME, AutoId, Base


class ReportRow(Base):
    """One rendered report. ``kind`` is ``daily``, ``weekly`` or ``investor_weekly``;
    ``scope`` is ``all`` for the operator's reports and the account id for an investor's.
    Generating the same report again replaces it (one row per kind, scope and period)."""

    __tablename__ = "reports"
    __table_args__ = (
        sa.UniqueConstraint("kind", "scope", "period_start"),
        sa.Index("ix_reports_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(CODE))
    scope: Mapped[str] = mapped_column(sa.String(ID))
    period_start: Mapped[int]
    period_end: Mapped[int]
    created_at: Mapped[int]
    markdown: Mapped[str] = mapped_column(sa.Text)
    figures: Mapped[dict[str, Any]]


class ReportChartRow(Base):
    """A report's PNG chart, kept in the database so a backup carries the whole report."""

    __tablename__ = "report_charts"
    __table_args__ = (sa.Index("ix_report_charts_report_id", "report_id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    report_id: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(NAME))
    png: Mapped[bytes] = mapped_column(sa.LargeBinary)


reports = ReportRow.__table__
report_charts = ReportChartRow.__table__
