"""The post-launch targets as GO/NO-GO report lines with their windows: open beta's first
week without a P0 (from the open stage's first entry), month one's 99.95 % uptime, < 2 P1
and satisfaction > 90 % (30 days from the launch); inconclusive while a window runs unless
already missed, and never part of the GO verdict."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.rollout.controller import RolloutController
from rampart.rollout.gonogo import go_nogo
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.state import add_transition
from rampart.rollout.targets import DAY_MS, launch_targets
from rampart.store.db import open_database
from rampart.store.models.ops import uptime_spans
from rampart.store.models.people import feedback

from .test_launch_gates import _incident

L = 1_767_225_600_000  # the launch
OPEN = L + 3 * DAY_MS
MINUTE = 60_000


@pytest.fixture
def db(tmp_path) -> sa.Engine:  # type: ignore[no-untyped-def]
    engine = open_database(f"sqlite:///{tmp_path / 't.db'}")
    with engine.begin() as conn:
        add_transition(conn, L, "", "internal", "start", "system", "rollout enabled", {})
        add_transition(conn, OPEN, "limited", "open", "approve", "op", "approved", {})
    yield engine
    engine.dispose()


def _up(db: sa.Engine, gap_min: int) -> None:
    cut = L + 10 * DAY_MS
    with db.begin() as conn:
        conn.execute(uptime_spans.insert().values(started_at=L, last_beat_at=cut))
        again = cut + gap_min * MINUTE
        conn.execute(uptime_spans.insert().values(started_at=again, last_beat_at=L + 40 * DAY_MS))


def _scores(db: sa.Engine, scores: list[int]) -> None:
    with db.begin() as conn:
        for i, score in enumerate(scores):
            ts = L + DAY_MS + i * MINUTE
            conn.execute(feedback.insert().values(account_id=f"a{i}", score=score, text="", ts=ts))


def _lines(db: sa.Engine, now: int) -> dict[str, tuple[str, Verdict, str]]:
    return {t.name: (t.measured, t.verdict, t.window) for t in launch_targets(db, now, 0)}


def test_a_month_met(db: sa.Engine) -> None:
    _up(db, 10)  # 10 minutes down in 30 days: 99.977 %
    _incident(db, "w1", "P1", L + 5 * DAY_MS, L + 5 * DAY_MS + MINUTE)
    _incident(db, "late", "P0", OPEN + 8 * DAY_MS, OPEN + 8 * DAY_MS + MINUTE)  # after week one
    _scores(db, [5] * 19 + [2])  # 95 %
    lines = _lines(db, L + 31 * DAY_MS)
    assert lines["open beta week one: no P0"][:2] == ("0 P0", Verdict.PASS)
    assert lines["month one uptime"][:2] == ("99.977%", Verdict.PASS)
    assert lines["month one P1 incidents"][:2] == ("1 P1", Verdict.PASS)
    assert lines["month one satisfaction"][:2] == ("95% of 20 answer(s)", Verdict.PASS)
    assert lines["month one uptime"][2].endswith("+ 30 d")


def test_a_month_missed(db: sa.Engine) -> None:
    _up(db, 30)  # 30 minutes down: 99.931 %
    _incident(db, "early", "P0", OPEN + 2 * DAY_MS, OPEN + 2 * DAY_MS + MINUTE)
    _scores(db, [5] * 9 + [3])  # 90 % is not above 90 %
    lines = _lines(db, L + 31 * DAY_MS)
    assert lines["open beta week one: no P0"][:2] == ("1 P0", Verdict.FAIL)
    assert lines["month one uptime"][1] is Verdict.FAIL
    assert lines["month one satisfaction"][1] is Verdict.FAIL


def test_running_windows_are_inconclusive_unless_already_missed(db: sa.Engine) -> None:
    _up(db, 0)
    _incident(db, "w1", "P1", L + DAY_MS, L + DAY_MS + MINUTE)
    lines = _lines(db, L + 5 * DAY_MS)
    assert lines["open beta week one: no P0"][1] is Verdict.INCONCLUSIVE
    assert "(2.0 d so far)" in lines["open beta week one: no P0"][2]
    assert lines["month one P1 incidents"][1] is Verdict.INCONCLUSIVE
    assert lines["month one satisfaction"][:2] == ("no answers", Verdict.INCONCLUSIVE)
    _incident(db, "w2", "P1", L + 2 * DAY_MS, None)
    assert _lines(db, L + 5 * DAY_MS)["month one P1 incidents"][:2] == ("2 P1", Verdict.FAIL)


def test_go_nogo_carries_them_without_deciding_go(db: sa.Engine) -> None:
    settings = load_settings(rollout={"enabled": True})
    ctl = RolloutController(settings.rollout, db, SimClock(L + 5 * DAY_MS))
    report = go_nogo(settings, ctl)
    names = [t["name"] for t in report.to_dict()["targets"]]
    assert names == [
        "open beta week one: no P0",
        "month one uptime",
        "month one P1 incidents",
        "month one satisfaction",
        "month one users trading",
        "retention week 1 → week 4",
    ]
    assert all(c.kind != "target" for c in report.criteria)


def test_week_one_concludes_with_the_rollout_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Once, with the rollout off (no stage ever entered, the engine trading on the open
    stage from its start) the week-one P0 line stayed "open stage not entered" for ever."""
    engine = open_database(f"sqlite:///{tmp_path / 'off.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(uptime_spans.insert().values(started_at=L, last_beat_at=L + 9 * DAY_MS))
        quiet = _lines(engine, L + 8 * DAY_MS)["open beta week one: no P0"]
        _incident(engine, "p0", "P0", L + DAY_MS, L + DAY_MS + MINUTE)
        paged = _lines(engine, L + 8 * DAY_MS)["open beta week one: no P0"]
    finally:
        engine.dispose()
    assert quiet[:2] == ("0 P0", Verdict.PASS) and quiet[2].endswith("+ 7 d")
    assert paged[:2] == ("1 P0", Verdict.FAIL)
