"""Make a report: figures from the store, charts, Markdown; store it; write it to a folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog

from rampart.extras import MissingExtra
from rampart.reports import charts as chart_files
from rampart.reports.figures import Figures, compute
from rampart.reports.markdown import daily_markdown, investor_markdown, weekly_markdown
from rampart.reports.monthly import investor_monthly_markdown
from rampart.reports.people_section import people_markdown
from rampart.reports.period import MONTHLY, Period, ReportError, period_for
from rampart.reports.revenue import revenue
from rampart.reports.revenue_text import as_dict as revenue_dict
from rampart.reports.revenue_text import markdown as revenue_markdown
from rampart.reports.store import OPERATOR_SCOPE, save_report
from rampart.runtime.business_time import uptime_grace_ms
from rampart.store import models as m
from rampart.store.people import PeopleFigures, operator_ids, people_figures
from rampart.store.support import DEFAULT_SLA_MS, TicketCounts, ticket_counts

REVENUE_WEEKS = 4
"""Weeks of revenue and fees in the weekly report: the report's and the three before it."""
INVESTOR_WEEKLY = "investor_weekly"
INVESTOR_MONTHLY = "investor_monthly"
log = structlog.get_logger("rampart.reports")


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    kind: str
    """``daily``, ``weekly``, ``investor_weekly`` or ``investor_monthly``."""
    scope: str
    period: Period
    markdown: str
    figures: Figures
    charts: dict[str, bytes]

    @property
    def name(self) -> str:
        base = f"{self.kind}-{self.period.first_day.isoformat()}"
        return base if self.scope == OPERATOR_SCOPE else f"{base}-{_safe(self.scope)}"

    def write(self, out_dir: Path) -> list[Path]:
        """``out_dir/<name>/report.md`` and its PNGs beside it (the Markdown links them)."""
        folder = out_dir / self.name
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "report.md"]
        written[0].write_text(self.markdown, encoding="utf-8")
        for file_name, png in self.charts.items():
            path = folder / file_name
            path.write_bytes(png)
            written.append(path)
        return written


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _infra_cost(settings: Any, days: int) -> tuple[Decimal, int] | None:
    """The hosts' cost for ``days`` days and their number; None when none is configured."""
    ops = getattr(settings, "ops", None)
    hosts = getattr(ops, "infra_cost_usd_per_month", None)
    if ops is None or not hosts:
        return None
    return ops.infra_cost_usd(days), len(hosts)


def llm_budget(settings: Any, days: int) -> Decimal | None:
    """The LLM budget for ``days`` days, or None when no LLM is configured."""
    llm = getattr(settings, "llm", None)
    if llm is None or not getattr(llm, "enabled", False):
        return None
    return Decimal(llm.daily_budget_usd) * days


def _check_account(engine: sa.Engine, account: str) -> None:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(m.accounts.c.account_id).where(m.accounts.c.account_id == account)
        ).first()
    if found is None:
        raise ReportError(f"There is no account {account!r} in this database.")


def people_of(
    engine: sa.Engine, settings: Any, period: Period
) -> tuple[PeopleFigures, TicketCounts]:
    """The people figures at the end of ``period`` (new investors counted inside it) and the
    support tickets (answered inside it, open and overdue at its end)."""
    people_cfg = getattr(settings, "people", None)
    sla = people_cfg.sla_ms() if people_cfg is not None else DEFAULT_SLA_MS
    people = people_figures(
        engine, period.end, since_ms=period.start, operators=operator_ids(settings)
    )
    tickets = ticket_counts(engine, period.end, sla, answered_since=period.start)
    return people, tickets


def make_report(
    engine: sa.Engine,
    settings: Any,
    kind: str,
    day: date,
    *,
    now_ms: int,
    account: str | None = None,
) -> Report:
    """Compute, render and store the ``kind`` report for the period holding ``day``.

    With ``account`` it is that investor's own weekly or monthly summary.
    """
    period = period_for(kind, day)
    if period.start >= now_ms:
        raise ReportError(f"The period {period.label} has not started yet.")
    grace_ms = uptime_grace_ms(settings)
    if account is not None:
        if kind not in ("weekly", MONTHLY):
            raise ReportError(
                "An investor's own summary is weekly or monthly; use 'weekly' or 'monthly' "
                "with --account."
            )
        _check_account(engine, account)
    elif kind == MONTHLY:
        raise ReportError("The monthly report is an investor's own; give it --account.")
    figures = compute(engine, period.start, period.end, account=account, grace_ms=grace_ms)
    label = period.label.split(" ")[0]
    try:
        pngs = chart_files.render_charts(figures, label, operator=account is None)
    except MissingExtra as exc:
        # The figures and the Markdown need no matplotlib: the report still goes out, its
        # Charts section says why it has none (markdown._charts).
        log.warning("report_without_charts", kind=kind, reason=exc.message)
        pngs = {}
    budget = llm_budget(settings, period.days)
    stored = figures.as_dict()
    if account is not None and kind == MONTHLY:
        stored_kind, scope = INVESTOR_MONTHLY, account
        text = investor_monthly_markdown(figures, period, pngs)
    elif account is not None:
        stored_kind, scope = INVESTOR_WEEKLY, account
        text = investor_markdown(figures, period, pngs)
    elif kind == "daily":
        stored_kind, scope = kind, OPERATOR_SCOPE
        text = daily_markdown(figures, period, budget, pngs)
    else:
        stored_kind, scope = kind, OPERATOR_SCOPE
        people, tickets = people_of(engine, settings, period)
        stored["people"] = people.as_dict()
        infra = _infra_cost(settings, period.days)
        if infra is not None:
            stored["infra_cost_usd"] = str(infra[0])
        earned = revenue(engine, settings, REVENUE_WEEKS, now_ms, until_ms=period.end)
        stored["revenue"] = {"weeks": revenue_dict(earned)["weeks"]}  # no investor named
        text = weekly_markdown(
            figures,
            period,
            budget,
            pngs,
            people_markdown(people, tickets),
            infra,
            revenue_markdown(earned),
        )
    report_id = save_report(
        engine,
        kind=stored_kind,
        scope=scope,
        period_start=period.start,
        period_end=period.end,
        created_at=now_ms,
        markdown=text,
        figures=stored,
        charts=pngs,
    )
    return Report(report_id, stored_kind, scope, period, text, figures, pngs)


def invested_accounts(engine: sa.Engine) -> list[str]:
    """Investors' accounts that exist (the investor invested at least once), by id."""
    query = (
        sa.select(m.investors.c.account_id)
        .join(m.accounts, m.accounts.c.account_id == m.investors.c.account_id)
        .order_by(m.investors.c.account_id)
    )
    with engine.connect() as conn:
        return [str(r[0]) for r in conn.execute(query)]


def investor_accounts(engine: sa.Engine) -> list[str]:
    """Accounts owned by a Telegram investor (who can be sent a weekly summary), by id."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.investors.c.account_id).order_by(m.investors.c.account_id))
        return [str(r[0]) for r in rows]
