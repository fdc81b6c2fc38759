"""People metrics: counts of investors, cohorts, feedback and support tickets, a
group of their own on the service's registry (``metrics.people``).

Every series is a count over investors; no label names one (``stage``, ``cohort`` — the ISO
week the cohort started in —, ``week`` and ``priority`` are the only labels):

- ``rampart_investors_funnel{stage}``: investors who reached each stage (started, connected,
  invested, traded);
- ``rampart_investors_active`` and ``rampart_investors_active_before``: active in the last 7
  days and in the 7 before; ``rampart_investors_churned``: active before, not since;
- ``rampart_investor_cohort_size{cohort}`` and ``rampart_investor_cohort_active{cohort, week}``
  (week 1 … 4, once that week has ended);
- ``rampart_investors_week1_active`` and ``rampart_investors_week4_kept``: the week 1 → week 4
  retention's two counts;
- ``rampart_feedback_responses`` and ``rampart_feedback_satisfied`` (scores of 4 or 5), last 30
  days;
- ``rampart_support_tickets_open{priority}`` and ``rampart_support_tickets_overdue{priority}``
  (open past the SLA on the business clock: what the SupportTicketOverdue alert reads).

:class:`~rampart.observability.people_sampler.PeopleSampler` counts them from the store. This
module imports no database code: it loads with every other metric.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge

if TYPE_CHECKING:
    from rampart.store.people import PeopleFigures
    from rampart.store.support import TicketCounts

STAGES = ("started", "connected", "invested", "traded")
"""As :data:`rampart.store.people.STAGES` (a test holds them equal)."""
PRIORITIES = ("critical", "general")
"""As :data:`rampart.store.support.PRIORITIES`."""


def cohort_label(week_start_ms: int) -> str:
    iso = datetime.fromtimestamp(week_start_ms / 1000, tz=UTC).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


class PeopleMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.funnel = Gauge(
            "rampart_investors_funnel",
            "Investors who reached each funnel stage (started, connected, invested, traded).",
            ["stage"],
            registry=r,
        )
        self.active = Gauge(
            "rampart_investors_active", "Investors active in the last 7 days.", registry=r
        )
        self.active_before = Gauge(
            "rampart_investors_active_before",
            "Investors active in the 7 days before the last 7.",
            registry=r,
        )
        self.churned = Gauge(
            "rampart_investors_churned",
            "Investors active in the 7 days before the last 7 and not in the last 7.",
            registry=r,
        )
        self.cohort_size = Gauge(
            "rampart_investor_cohort_size",
            "Investors who started in each ISO week (last 12 weeks).",
            ["cohort"],
            registry=r,
        )
        self.cohort_active = Gauge(
            "rampart_investor_cohort_active",
            "Investors of a cohort active in its week 1 to 4 (once that week has ended).",
            ["cohort", "week"],
            registry=r,
        )
        self.week1_active = Gauge(
            "rampart_investors_week1_active",
            "Investors of cohorts past their fourth week who were active in their first.",
            registry=r,
        )
        self.week4_kept = Gauge(
            "rampart_investors_week4_kept",
            "Of those, investors active in their fourth week too.",
            registry=r,
        )
        self.feedback_responses = Gauge(
            "rampart_feedback_responses", "Feedback scores given in the last 30 days.", registry=r
        )
        self.feedback_satisfied = Gauge(
            "rampart_feedback_satisfied",
            "Feedback scores of 4 or 5 (of 5) given in the last 30 days.",
            registry=r,
        )
        self.tickets_open = Gauge(
            "rampart_support_tickets_open",
            "Support tickets not answered yet, by priority.",
            ["priority"],
            registry=r,
        )
        self.tickets_overdue = Gauge(
            "rampart_support_tickets_overdue",
            "Support tickets unanswered past their SLA (business clock), by priority.",
            ["priority"],
            registry=r,
        )
        for priority in PRIORITIES:
            # At zero from the start: a dashboard and the alert see the series before any ticket.
            self.tickets_open.labels(priority=priority).set(0)
            self.tickets_overdue.labels(priority=priority).set(0)

    def show(self, figures: PeopleFigures) -> None:
        funnel = figures.funnel.as_dict()
        for stage in STAGES:
            self.funnel.labels(stage=stage).set(funnel[stage])
        self.active.set(figures.active)
        self.active_before.set(figures.active_before)
        self.churned.set(figures.churned)
        # Cohorts move on every week: old series go rather than linger at their last value.
        self.cohort_size.clear()
        self.cohort_active.clear()
        for cohort in figures.cohorts:
            label = cohort_label(cohort.week_start)
            self.cohort_size.labels(cohort=label).set(cohort.size)
            for week, count in enumerate(cohort.active, start=1):
                if count is not None:
                    self.cohort_active.labels(cohort=label, week=str(week)).set(count)
        self.week1_active.set(figures.week1_active)
        self.week4_kept.set(figures.week1_week4_kept)
        self.feedback_responses.set(figures.satisfaction.responses)
        self.feedback_satisfied.set(figures.satisfaction.satisfied)

    def show_tickets(self, counts: TicketCounts) -> None:
        for priority in PRIORITIES:
            self.tickets_open.labels(priority=priority).set(counts.open.get(priority, 0))
            self.tickets_overdue.labels(priority=priority).set(counts.overdue.get(priority, 0))
