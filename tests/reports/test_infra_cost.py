"""Infrastructure cost beside the LLM cost and the fees in the weekly report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rampart.reports.figures import Figures
from rampart.reports.markdown import weekly_markdown
from rampart.reports.period import period_for
from rampart.runtime.settings import OpsConfig


def test_the_hosts_monthly_figures_become_the_weeks_cost() -> None:
    ops = OpsConfig(infra_cost_usd_per_month={"app": Decimal("40"), "db": Decimal("60.88")})
    # 100.88 a month × 12 / 365.25 × 7 = 23.20 for a week.
    assert ops.infra_cost_usd(7) == Decimal("23.20")
    assert OpsConfig().infra_cost_usd(7) == Decimal("0.00")


def test_the_weekly_report_shows_the_infrastructure_cost_or_says_it_is_not_set() -> None:
    period = period_for("weekly", date(2024, 3, 6))
    figures = Figures(period.start, period.end, None)
    shown = weekly_markdown(figures, period, None, [], (), (Decimal("23.20"), 2))
    assert "| infrastructure cost | 23.20 USD (2 hosts, from their monthly figures) |" in shown
    unset = weekly_markdown(figures, period, None, [])
    assert "infrastructure cost | not configured (ops.infra_cost_usd_per_month)" in unset
