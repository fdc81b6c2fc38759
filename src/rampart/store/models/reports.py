"""Tables of revision 0007: stored daily and weekly reports."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, NAME, AutoId, Col, metadata

# One rendered report. ``kind`` is ``daily``, ``weekly`` or ``investor_weekly``;
# ``scope`` is ``all`` for the operator's reports and the account id for an investor's.
# Generating the same report again replaces it (one row per kind, scope and period).
reports = sa.Table(
    "reports",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("kind", sa.String(CODE)),
    Col("scope", sa.String(ID)),
    Col("period_start", sa.BigInteger),
    Col("period_end", sa.BigInteger),
    Col("created_at", sa.BigInteger),
    Col("markdown", sa.Text),
    Col("figures", sa.JSON),
    sa.UniqueConstraint("kind", "scope", "period_start"),
    sa.Index("ix_reports_created_at", "created_at"),
)


# A report's PNG chart, kept in the database so a backup carries the whole report.
report_charts = sa.Table(
    "report_charts",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("report_id", sa.BigInteger),
    Col("name", sa.String(NAME)),
    Col("png", sa.LargeBinary),
    sa.Index("ix_report_charts_report_id", "report_id"),
)
