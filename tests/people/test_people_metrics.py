"""People metrics in /metrics: counts from the seeded store, no investor named in any label;
the support SLA alert on the business clock."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from rampart.clock import SimClock
from rampart.observability import people_metrics
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.rules import default_rules
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice
from rampart.observability.people_sampler import PeopleSampler
from rampart.store import people, support
from tests.people.seed import INVESTORS, NOW, W0, WEEK

PEOPLE = ("rampart_investor", "rampart_feedback", "rampart_support")
HOUR = 3_600_000
MINUTE = 60_000


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render()
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_the_labels_match_the_store() -> None:
    assert people_metrics.STAGES == people.STAGES
    assert people_metrics.PRIORITIES == support.PRIORITIES


def test_metrics_show_the_seeded_counts_and_name_nobody(seeded_lite: sa.Engine) -> None:
    metrics = Metrics()
    business = SimClock(NOW)
    support.add_ticket(seeded_lite, "tg-1", "critical", "my orders stopped", NOW - 3 * HOUR)
    support.add_ticket(seeded_lite, "tg-2", "general", "how do fees work?", NOW - HOUR)
    sampler = PeopleSampler(seeded_lite, metrics.people, business=business, ops=SimClock(0))
    assert asyncio.run(sampler.sample())
    got = _samples(metrics)
    funnel = {
        stage: got[("rampart_investors_funnel", (("stage", stage),))] for stage in people.STAGES
    }
    assert funnel == {"started": 6, "connected": 4, "invested": 3, "traded": 2}
    assert got[("rampart_investors_active", ())] == 1
    assert got[("rampart_investors_churned", ())] == 1
    assert got[("rampart_investors_week1_active", ())] == 3
    assert got[("rampart_investors_week4_kept", ())] == 1
    assert got[("rampart_investor_cohort_size", (("cohort", "2024-W01"),))] == 4
    assert got[("rampart_investor_cohort_active", (("cohort", "2024-W01"), ("week", "1")))] == 2
    assert got[("rampart_investor_cohort_active", (("cohort", "2024-W02"), ("week", "4")))] == 0
    assert got[("rampart_feedback_responses", ())] == 3
    assert got[("rampart_feedback_satisfied", ())] == 2
    assert got[("rampart_support_tickets_open", (("priority", "critical"),))] == 1
    assert got[("rampart_support_tickets_overdue", (("priority", "critical"),))] == 1
    assert got[("rampart_support_tickets_overdue", (("priority", "general"),))] == 0
    body = metrics.render()[0].decode()
    for account, (telegram_id, _, _) in INVESTORS.items():
        assert account not in body
        assert str(telegram_id) not in body
    labels = {name for (metric, pairs) in got if metric.startswith(PEOPLE) for name, _ in pairs}
    assert labels == {"stage", "cohort", "week", "priority"}
    # Paced: a second call inside the interval counts the tickets only.
    support.add_ticket(seeded_lite, "tg-3", "critical", "is my key safe?", NOW - 5 * HOUR)
    assert not asyncio.run(sampler.sample())
    got = _samples(metrics)
    assert got[("rampart_support_tickets_overdue", (("priority", "critical"),))] == 2
    assert W0 < NOW - WEEK


class Alerts:
    """The real alert engine with the default rules, on an ops clock, stamping incidents with
    the business clock the SLA is measured on."""

    def __init__(self, db: sa.Engine, start: int) -> None:
        self.business = SimClock(start)
        self.ops = SimClock(1_800_000_000_000)
        self.metrics = Metrics()
        self.notices: list[Notice] = []

        async def told(notice: Notice) -> None:
            self.notices.append(notice)

        self.engine = AlertEngine(
            default_rules(),
            self.metrics,
            db,
            self.ops,
            CallbackNotifier(told),
            stamp=self.business,
        )
        self.sampler = PeopleSampler(db, self.metrics.people, business=self.business, ops=self.ops)
        self.engine.add_refresher(lambda: self.sampler.sample(force=True))

    def at(self, business_ms: int) -> list[Notice]:
        self.business.set(business_ms)
        self.ops.advance(5)
        return [
            n
            for n in asyncio.run(self.engine.evaluate(self.ops.now_ms()))
            if n.rule == "SupportTicketOverdue"
        ]


def test_a_critical_ticket_unanswered_past_two_hours_raises_a_p2(lite: sa.Engine) -> None:
    t0 = W0
    alerts = Alerts(lite, t0)
    ticket = support.add_ticket(lite, "tg-1", "critical", "I cannot pause", t0)
    assert alerts.at(t0 + 2 * HOUR) == []  # exactly at the limit: still inside the SLA
    fired = alerts.at(t0 + 2 * HOUR + MINUTE)
    assert [(n.kind, n.severity, n.labels) for n in fired] == [
        ("firing", "P2", {"priority": "critical"})
    ]
    assert fired[0].ts == t0 + 2 * HOUR + MINUTE  # dated on the business clock
    support.answer(lite, ticket.id, "ops", "Done: your account is paused.", t0 + 3 * HOUR)
    resolved = alerts.at(t0 + 3 * HOUR + MINUTE)
    assert [n.kind for n in resolved] == ["resolved"]


def test_a_general_ticket_has_a_day(lite: sa.Engine) -> None:
    t0 = W0
    alerts = Alerts(lite, t0)
    support.add_ticket(lite, "tg-2", "general", "what does a breaker do?", t0)
    assert alerts.at(t0 + 3 * HOUR) == []
    assert alerts.at(t0 + 24 * HOUR) == []
    fired = alerts.at(t0 + 24 * HOUR + MINUTE)
    assert [(n.severity, n.labels) for n in fired] == [("P2", {"priority": "general"})]
