"""The weekly report's "People" section: the investor funnel, active investors and churn,
weekly cohorts with their week 1 to 4 retention, satisfaction and the support SLA.
Counts and shares only: no investor is named."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rampart.store.people import RETENTION_WEEKS, STAGES, PeopleFigures
from rampart.store.support import PRIORITIES, TicketCounts

DASH = "—"
COHORTS_SHOWN = 6

FOOTNOTE = (
    "People: funnel stages count investors who reached them (started = sent /start; connected "
    "= an exchange key, a wallet, or a paper or demo account; invested = their account started; "
    "traded = at least one fill). Active = their account placed an order or was running in the "
    "window. Churn = active in the 7 days before the last 7 and not since. A cohort is the "
    "investors who started in one ISO week; week k = the k-th week after it, shown once ended. "
    "Week 1 → week 4 = of those active in their first week, the share active in their fourth. "
    "Satisfaction = scores of 4 or 5 of 5, last 30 days. Support SLA: critical answered "
    "within people.critical_sla_h, general within people.general_sla_h (business clock)."
)


def _pct(num: int, den: int) -> str:
    return DASH if not den else f"{num / den * 100:.0f} %"


def share(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.0f} %"


def _table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _week(ms: int) -> str:
    iso = datetime.fromtimestamp(ms / 1000, tz=UTC).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def people_markdown(p: PeopleFigures, tickets: TicketCounts | None = None) -> list[str]:
    funnel = p.funnel.as_dict()
    started = funnel["started"]
    rows = [(stage, str(funnel[stage]), _pct(funnel[stage], started)) for stage in STAGES]
    parts = ["## People", "", _table(rows, ("funnel stage", "investors", "of started")), ""]
    figures = [
        ("new investors this week", str(p.new_investors)),
        ("active investors (last 7 days)", str(p.active)),
        ("churn", f"{share(p.churn)} ({p.churned} of {p.active_before})"),
        (
            "retention, week 1 → week 4",
            f"{share(p.retention_w1_w4)} ({p.week1_week4_kept} of {p.week1_active})",
        ),
        (
            "satisfaction (last 30 days)",
            f"{share(p.satisfaction.share)} ({p.satisfaction.satisfied} of "
            f"{p.satisfaction.responses} scores 4 or 5"
            + (f", average {p.satisfaction.average:.1f}/5)" if p.satisfaction.average else ")"),
        ),
    ]
    if tickets is not None:
        opened = ", ".join(f"{k} {tickets.open.get(k, 0)}" for k in PRIORITIES)
        late = ", ".join(f"{k} {tickets.overdue.get(k, 0)}" for k in PRIORITIES)
        figures += [
            ("support tickets open", opened),
            ("open past their SLA", late),
            (
                "answered this week within SLA",
                f"{_pct(tickets.answered_in_sla, tickets.answered)} "
                f"({tickets.answered_in_sla} of {tickets.answered})",
            ),
        ]
    parts += [_table(figures, ("figure", "value")), ""]
    shown = [c for c in p.cohorts if c.size][:COHORTS_SHOWN]
    if shown:
        header = ("cohort", "investors", *(f"week {k}" for k in range(1, RETENTION_WEEKS + 1)))
        cohort_rows = [
            (
                _week(c.week_start),
                str(c.size),
                *(DASH if n is None else f"{n} ({_pct(n, c.size)})" for n in c.active),
            )
            for c in shown
        ]
        parts += [_table(cohort_rows, header), ""]
    else:
        parts += ["No investor started in the last weeks.", ""]
    return [*parts, f"_{FOOTNOTE}_", ""]
