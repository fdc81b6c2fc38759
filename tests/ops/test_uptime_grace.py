"""One uptime for everyone: gates, GO/NO-GO, reports and /rollout count a service as up until
health would have called it down (``ops.worker_stale_s`` after its last heartbeat, in business
time), so a beat a loaded machine delays is never an outage and a real one always is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from rampart.config import Settings, load_settings
from rampart.reports.build import make_report
from rampart.rollout.measure import UPTIME, measure
from rampart.runtime.business_time import uptime_grace_ms
from rampart.store.db import open_database
from rampart.store.models.ops import uptime_spans

HOUR = 3_600_000
DAY = 24 * HOUR
MONDAY = int(datetime(2024, 3, 4, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _span(db: sa.Engine, began: int, last_beat: int) -> None:
    with db.begin() as conn:
        conn.execute(uptime_spans.insert().values(started_at=began, last_beat_at=last_beat))


def _gate_uptime(db: sa.Engine, settings: Settings, start: int, end: int) -> float | None:
    return measure(db, start, end, uptime_grace_ms=uptime_grace_ms(settings))[UPTIME].value


def _report_uptime(db: sa.Engine, settings: Settings, day: date) -> float | None:
    report = make_report(db, settings, "daily", day, now_ms=MONDAY + 3 * DAY)
    return report.figures.uptime


def test_the_grace_is_healths_staleness_bound_in_business_time() -> None:
    demo = load_settings(feed={"speed": 60_000})
    wall = load_settings(feed={"speed": 1.0})
    assert uptime_grace_ms(wall) == 30_000
    assert uptime_grace_ms(demo) == 30_000 * 60_000
    # A heartbeat interval above the staleness bound is the floor.
    slow = load_settings(feed={"speed": 1.0}, ops={"heartbeat_every_s": 60, "worker_stale_s": 30})
    assert uptime_grace_ms(slow) == 60_000


def test_a_late_heartbeat_on_a_fast_simulated_feed_is_not_an_outage(db: sa.Engine) -> None:
    """The rollout demo at 60,000×: the gate is evaluated one and a half heartbeat intervals
    (7.5 wall seconds, 125 business hours) after the last recorded beat, because the machine
    was busy. Health would still call the service up; so does the uptime gate."""
    settings = load_settings(feed={"speed": 60_000})
    heartbeat = int(settings.ops.heartbeat_every_s * 1000 * 60_000)
    last_beat = MONDAY + 50 * HOUR
    _span(db, MONDAY, last_beat)
    assert _gate_uptime(db, settings, MONDAY, last_beat + heartbeat * 3 // 2) == 1.0


def test_an_outage_longer_than_the_staleness_bound_counts_in_gates_and_reports_alike(
    db: sa.Engine,
) -> None:
    """An exchange-speed service (business time = wall time) down from Tuesday 10:00 to 12:00:
    the gate and the daily report see the same two hours missing, less health's 30 s."""
    settings = load_settings(feed={"speed": 1.0})
    tuesday = MONDAY + DAY
    _span(db, MONDAY, tuesday + 10 * HOUR)
    _span(db, tuesday + 12 * HOUR, MONDAY + 3 * DAY)
    want = (DAY - 2 * HOUR + 30_000) / DAY
    assert _gate_uptime(db, settings, tuesday, tuesday + DAY) == pytest.approx(want, abs=1e-12)
    assert _report_uptime(db, settings, date(2024, 3, 5)) == pytest.approx(want, abs=1e-12)


def test_a_report_of_the_demos_day_is_up_when_its_last_beat_came_before_midnight(
    db: sa.Engine,
) -> None:
    """`make run`'s 300×: the day's last beat came 20 business minutes (4 wall seconds) before
    midnight and the next one after it; the day's report, like the gate, says 100 %."""
    settings = load_settings()
    tuesday = MONDAY + DAY
    _span(db, MONDAY, tuesday + DAY - 20 * 60_000)
    assert _report_uptime(db, settings, date(2024, 3, 5)) == 1.0
    assert _gate_uptime(db, settings, tuesday, tuesday + DAY) == 1.0
