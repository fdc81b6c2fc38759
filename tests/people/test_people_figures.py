"""The people figures from a store seeded with known investors (tests/people/seed.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rampart.store.db import open_database
from rampart.store.people import people_figures, week_of
from tests.conftest import fresh_pg_schema
from tests.people.seed import DAY, NOW, W0, WEEK, seed


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The root fixture's two backends, once per module: these tests only read the store."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('people') / 'rampart.db'}"
        return
    base = os.environ.get("RAMPART_TEST_PG_URL")
    if not base:
        pytest.skip("RAMPART_TEST_PG_URL is not set")
    with fresh_pg_schema(base) as url:
        yield url


@pytest.fixture(scope="module")
def seeded(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    seed(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_funnel_counts_each_stage_once_and_leaves_operator_accounts_out(
    seeded: sa.Engine,
) -> None:
    f = people_figures(seeded, NOW)
    assert f.funnel.as_dict() == {"started": 6, "connected": 4, "invested": 3, "traded": 2}
    # Earlier, only what had happened by then.
    early = people_figures(seeded, W0 + DAY + 30_000)
    assert early.funnel.as_dict() == {"started": 2, "connected": 2, "invested": 2, "traded": 0}


def test_weekly_cohorts_and_their_retention(seeded: sa.Engine) -> None:
    f = people_figures(seeded, NOW, weeks=7)
    by_week = {c.week_start: c for c in f.cohorts}
    assert [c.week_start for c in f.cohorts] == [W0 + k * WEEK for k in range(6, -1, -1)]
    a, b = by_week[W0], by_week[W0 + WEEK]
    assert (a.size, a.active) == (4, (2, 1, 1, 1))
    assert (b.size, b.active) == (2, (1, 1, 0, 0))
    assert a.retention(1) == 0.5 and b.retention(3) == 0.0
    # This week's cohort is empty and none of its weeks have ended.
    assert by_week[W0 + 6 * WEEK].active == (None, None, None, None)
    # Week 1 -> week 4: a1, a2 and b1 were active in their first week; only a1 in the fourth.
    assert (f.week1_active, f.week1_week4_kept) == (3, 1)
    assert f.retention_w1_w4 == 1 / 3


def test_a_week_that_has_not_ended_is_not_counted_yet(seeded: sa.Engine) -> None:
    # At the start of week 5, cohort B's fourth week (week 5) is still running.
    f = people_figures(seeded, W0 + 5 * WEEK + 1, weeks=6)
    b = next(c for c in f.cohorts if c.week_start == W0 + WEEK)
    assert b.active == (1, 1, 0, None)
    assert (f.week1_active, f.week1_week4_kept) == (2, 1)


def test_active_investors_and_churn(seeded: sa.Engine) -> None:
    f = people_figures(seeded, NOW)
    # Last 7 days: a1. The 7 before: a1 and a2; a2 did not come back.
    assert (f.active, f.active_before, f.churned) == (1, 2, 1)
    assert f.churn == 0.5


def test_satisfaction_counts_fours_and_fives_of_the_last_30_days(seeded: sa.Engine) -> None:
    s = people_figures(seeded, NOW).satisfaction
    assert (s.responses, s.satisfied, s.score_sum) == (3, 2, 11)
    assert s.share == 2 / 3


def test_new_investors_in_a_window(seeded: sa.Engine) -> None:
    f = people_figures(seeded, W0 + 2 * WEEK, since_ms=W0 + WEEK)
    assert f.new_investors == 2


def test_weeks_start_on_monday() -> None:
    assert week_of(W0) == week_of(W0 + WEEK - 1) == week_of(W0 - 1) + 1
