"""The service soak's scheduled-jobs line: the run's end moved past the day's turn so the next
day's first jobs run within it, and each job judged on its newest slot due (ran, on time, ok);
a job whose slot did not come in the run is named, not failed."""

from __future__ import annotations

import copy

from rampart_testkit.soak_service.evidence import JobRun
from rampart_testkit.soak_service.jobs import (
    DAY_TURN_MS,
    asked_end_ms,
    covering_end_ms,
    pending,
    schedules,
)
from rampart_testkit.soak_service.judge import scheduled_jobs
from tests.test_soak_service_judge import DAY1, DAY2, MIN, _ran, clean

HOUR = 60 * MIN


def test_a_day_from_midnight_ends_past_the_next_day_s_reports() -> None:
    assert covering_end_ms(DAY1 + MIN, 24 * HOUR) == DAY2 + DAY_TURN_MS
    assert DAY_TURN_MS > 15 * MIN  # the monthly check at 00:15 comes within it
    # A run that does not end just after a midnight it crossed keeps its span.
    assert covering_end_ms(DAY1 + MIN, HOUR) == DAY1 + MIN + HOUR
    assert covering_end_ms(DAY1 + 2 * HOUR, 24 * HOUR) == DAY2 + 2 * HOUR


def test_the_clean_day_names_what_ran_and_what_was_not_due() -> None:
    line = scheduled_jobs(clean())
    assert line.passed is True
    assert "report_daily 00:05" in line.value and "wallet-keys 00:00" in line.value
    # 2024-01-01 is a Monday: the weekly report's next slot is the Monday after.
    assert "report_weekly (next slot 2024-01-08 00:10)" in line.value
    assert "team_summary (next slot 2024-01-02 08:00)" in line.value


def test_each_way_a_job_goes_wrong_fails_the_line() -> None:
    plants = {
        "never ran": lambda ev: ev.jobs.pop(0),
        "did not run for 2024-01-02 00:05": lambda ev: ev.jobs.__setitem__(
            2, _ran("report_daily", DAY1 + 5 * MIN)
        ),
        "failed for": lambda ev: ev.jobs.__setitem__(
            1, JobRun("wallet-keys", "x", "failed", "disk full", DAY2, DAY2 + MIN)
        ),
        "min after its slot": lambda ev: ev.jobs.__setitem__(
            3, _ran("report_monthly", DAY2 + 15 * MIN, late=45 * MIN)
        ),
    }
    for words, plant in plants.items():
        ev = copy.deepcopy(clean())
        plant(ev)
        line = scheduled_jobs(ev)
        assert line.passed is False, words
        assert words in line.value, (words, line.value)


def test_a_run_that_ends_before_the_day_s_turn_does_not_ask_for_the_daily_report() -> None:
    ev = clean()
    ev.end_ms = DAY1 + 2 * HOUR
    ev.jobs = [_ran("backup", DAY1), _ran("wallet-keys", DAY1)]
    line = scheduled_jobs(ev)
    assert line.passed is True
    assert "report_daily (next slot 2024-01-02 00:05)" in line.value


def test_a_run_whose_clock_was_never_read_fails_the_line() -> None:
    ev = clean()
    ev.begin_ms = None
    assert scheduled_jobs(ev).passed is False


def test_the_run_waits_for_a_job_due_by_its_end_that_has_not_run_yet() -> None:
    plan = schedules(6.0)
    begin, end = DAY1 + MIN, DAY2 + DAY_TURN_MS
    done = {
        "backup": (DAY2, "ok"),
        "wallet-keys": (DAY2, "ok"),
        "report_daily": (DAY2 + 5 * MIN, "ok"),
        "report_monthly": (DAY2 + 15 * MIN, "ok"),
    }
    assert pending(plan, begin, end, done) == []
    late = {**done, "report_monthly": (DAY1 + 15 * MIN, "baseline")}
    assert pending(plan, begin, end, late) == ["report_monthly"]
    running = {**done, "report_daily": (DAY2 + 5 * MIN, "running")}
    assert pending(plan, begin, end, running) == ["report_daily"]


def test_slots_falling_due_while_the_end_waits_to_settle_are_not_the_run_s() -> None:
    # An hour asked from 00:00 (backups every 6 minutes); the clock ran on to 01:23 while the
    # end waited for its faults and messages: the slots after 01:00 are not the run's.
    ev = clean()
    ev.backup_every_h = 0.1
    ev.hours, ev.begin_ms, ev.end_ms = 1.0, DAY1, DAY1 + 83 * MIN
    assert asked_end_ms(ev) == DAY1 + HOUR
    ev.jobs = [_ran("backup", DAY1 + 48 * MIN), _ran("wallet-keys", DAY1)]
    line = scheduled_jobs(ev)
    assert line.passed is True, line.value
    # Judged to where the clock had run, the backup would owe the 01:12 slot.
    ev.hours = 2.0
    assert asked_end_ms(ev) == DAY1 + 83 * MIN
    assert scheduled_jobs(ev).passed is False
    # A run stopped before its span ends is judged to where it stopped.
    ev.hours, ev.end_ms = 24.0, DAY1 + 30 * MIN
    assert asked_end_ms(ev) == DAY1 + 30 * MIN
