"""The launch plans' goals GO/NO-GO reports after launch, at the settings' numbers: plan 000's
"10+ users trading real money" (``rollout.targets.users``) over month one, and plan 001's
"user retention > 50 % (week 1 → week 4)" (``rollout.targets.retention``) over the weekly
cohorts whose fourth week has ended."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.config import load_settings
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import LaunchTargetsConfig
from rampart.rollout.targets import DAY_MS, launch_targets
from rampart.store.db import open_database
from rampart.store.models.ops import uptime_spans
from tests.people.seed import NOW, W0, seed

USERS, RETENTION = "month one users trading", "retention week 1 → week 4"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    """Six investors, three of whom placed orders in month one; of the three active in their
    first week one was active in their fourth (retention 1/3). The service launched at W0."""
    engine = open_database(f"sqlite:///{tmp_path / 't.db'}")
    seed(engine)
    with engine.begin() as conn:
        conn.execute(uptime_spans.insert().values(started_at=W0, last_beat_at=NOW))
    yield engine
    engine.dispose()


def _lines(db: sa.Engine, now: int, **goals: float) -> dict[str, tuple[str, Verdict]]:
    targets = launch_targets(db, now, 0, goals=LaunchTargetsConfig(**goals))  # type: ignore[arg-type]
    return {t.name: (t.measured, t.verdict) for t in targets}


def test_the_shipped_goals_are_the_plans() -> None:
    goals = load_settings(None).rollout.targets
    assert (goals.users, goals.retention) == (10, 0.5)


def test_ten_users_not_reached_in_month_one_is_missed(db: sa.Engine) -> None:
    lines = _lines(db, NOW)  # month one ended at W0 + 30 d
    assert lines[USERS] == ("3 investor(s)", Verdict.FAIL)
    assert _lines(db, NOW, users=3)[USERS] == ("3 investor(s)", Verdict.PASS)
    # While month one runs a short count is not yet a miss.
    assert _lines(db, W0 + 10 * DAY_MS)[USERS][1] is Verdict.INCONCLUSIVE


def test_retention_below_half_fails_and_above_the_goal_passes(db: sa.Engine) -> None:
    assert _lines(db, NOW)[RETENTION] == ("33% (1 of 3)", Verdict.FAIL)
    assert _lines(db, NOW, retention=0.3)[RETENTION][1] is Verdict.PASS
    # Before any cohort's fourth week has ended there is nothing to judge.
    assert _lines(db, W0 + 2 * DAY_MS)[RETENTION] == ("none yet", Verdict.INCONCLUSIVE)
