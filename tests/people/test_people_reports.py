"""The weekly report's People section and an investor's monthly report, from the seeded store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.reports.build import INVESTOR_MONTHLY, make_report
from rampart.reports.jobs import run_monthly, run_report
from rampart.reports.monthly import NO_PROMISE
from rampart.reports.period import ReportError, day_ms
from rampart.reports.store import list_reports
from rampart.store import support
from tests.people.seed import NOW, W0, WEEK

HOUR = 3_600_000


@pytest.fixture(autouse=True)
def no_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Charts are tested with the reports (tests/reports); here they only cost time."""
    monkeypatch.setattr("rampart.reports.build.chart_files.render_charts", lambda *a, **k: {})


class Told:
    def __init__(self) -> None:
        self.accounts: list[str] = []

    async def tell_account(self, account_id: str, html: str) -> bool:
        self.accounts.append(account_id)
        return True

    async def tell_operators(self, html: str, attachments: Sequence[Path] = ()) -> bool:
        return True


def test_the_weekly_report_carries_the_people_section(seeded_lite: sa.Engine) -> None:
    settings = load_settings()
    end = W0 + 6 * WEEK  # the week of W0 + 5 weeks, ending as week 6 begins
    support.add_ticket(seeded_lite, "tg-1", "critical", "help", end - 3 * HOUR)
    answered = support.add_ticket(seeded_lite, "tg-2", "general", "fees?", end - 2 * WEEK)
    support.answer(seeded_lite, answered.id, "ops", "See fees.md", end - 5 * 24 * HOUR)
    day = date(2024, 2, 5)
    assert day_ms(day) == W0 + 5 * WEEK
    report = make_report(seeded_lite, settings, "weekly", day, now_ms=NOW)
    text = report.markdown
    people = text.split("## People")[1].split("## Charts")[0]
    assert "| started | 6 | 100 % |" in people
    assert "| connected | 4 | 67 % |" in people
    assert "| invested | 3 | 50 % |" in people
    assert "| traded | 2 | 33 % |" in people
    # At the week's end both a1 and a2 were active in it; only a1 in the week before.
    assert "| active investors (last 7 days) | 2 |" in people
    assert "| churn | 0 % (0 of 1) |" in people
    assert "| satisfaction (last 30 days) | 50 % (1 of 2 scores 4 or 5, average 3.0/5) |" in people
    assert "| retention, week 1 → week 4 | 33 % (1 of 3) |" in people
    assert "| 2024-W01 | 4 | 2 (50 %) | 1 (25 %) | 1 (25 %) | 1 (25 %) |" in people
    assert "| 2024-W02 | 2 | 1 (50 %) | 1 (50 %) | 0 (0 %) | 0 (0 %) |" in people
    assert "| support tickets open | critical 1, general 0 |" in people
    assert "| open past their SLA | critical 1, general 0 |" in people
    assert "| answered this week within SLA | 0 % (0 of 1) |" in people
    assert "tg-" not in people
    assert report.figures.account is None
    stored = list_reports(seeded_lite, kind="weekly")[0]
    assert stored.id == report.id


def test_an_investors_monthly_report(seeded_lite: sa.Engine) -> None:
    settings = load_settings()
    report = make_report(
        seeded_lite, settings, "monthly", date(2024, 1, 20), now_ms=NOW, account="tg-1"
    )
    assert report.kind == INVESTOR_MONTHLY and report.scope == "tg-1"
    assert report.markdown.startswith("# Your month, 2024-01 (2024-01-01 to 2024-01-31), UTC")
    assert NO_PROMISE in report.markdown
    assert report.period.start == W0 and report.period.end == day_ms(date(2024, 2, 1))
    with pytest.raises(ReportError, match="an investor's own; give it --account"):
        make_report(seeded_lite, settings, "monthly", date(2024, 1, 20), now_ms=NOW)
    with pytest.raises(ReportError, match="no account 'tg-6'"):
        make_report(seeded_lite, settings, "monthly", date(2024, 1, 20), now_ms=NOW, account="tg-6")


def test_the_monthly_job_sends_on_the_first_of_a_month_only(seeded_lite: sa.Engine) -> None:
    settings = load_settings()
    told = Told()
    first = day_ms(date(2024, 2, 1)) + 15 * 60_000
    clock = SimClock(first)
    line = asyncio.run(run_monthly(seeded_lite, settings, clock, told, first - 86_400_000))
    assert line.startswith("not the first of a month") and told.accounts == []
    line = asyncio.run(run_monthly(seeded_lite, settings, clock, told, first))
    # Only investors who invested: tg-1, tg-2 and tg-5 (the others have no account).
    assert told.accounts == ["tg-1", "tg-2", "tg-5"]
    assert (
        line
        == "monthly reports 2024-01 (2024-01-01 to 2024-01-31): 3 stored, 3 sent to their investors"
    )
    assert len(list_reports(seeded_lite, kind=INVESTOR_MONTHLY)) == 3


def test_the_weekly_job_skips_investors_who_never_invested(seeded_lite: sa.Engine) -> None:
    # tg-3, tg-4 and tg-6 only sent /start: they have no account to summarise, and must not
    # stop the others' summaries.
    told = Told()
    slot = day_ms(date(2024, 2, 12)) + 10 * 60_000
    line = asyncio.run(
        run_report(seeded_lite, load_settings(), SimClock(NOW), told, "weekly", slot)
    )
    assert told.accounts == ["tg-1", "tg-2", "tg-5"]
    assert line.endswith("; 3 of 3 investors got their summary")
