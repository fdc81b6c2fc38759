"""The service's scheduled jobs as the soak judges them: each job's slots (its period and offset,
the service's own constants), the run's end moved past the day's turn so the jobs of the next
day's first minutes come within it, and the line that says whether every job due in the run ran
for its slot, on time, without failing.

The scheduler keeps one record per job (its last slot), so a job is judged on the newest slot
due in the run; the 6-hourly backups' every slot is judged by the backups line (each file
restored)."""

from __future__ import annotations

from dataclasses import dataclass

from rampart.backup.scheduled import JOB_NAME as BACKUP_JOB
from rampart.backup.wallet_keys import EVERY_MS as WALLET_EVERY_MS
from rampart.backup.wallet_keys import JOB_NAME as WALLET_JOB
from rampart.clock import ms_to_datetime
from rampart.reports.jobs import (
    DAILY_JOB,
    DAILY_LAG_MS,
    DAILY_OFFSET_MS,
    MONTHLY_JOB,
    MONTHLY_OFFSET_MS,
    WEEKLY_JOB,
    WEEKLY_LAG_MS,
    WEEKLY_OFFSET_MS,
)
from rampart.reports.team_summary import TEAM_JOB
from rampart.runtime.scheduler import DAY_MS, HOUR_MS, WEEK_MS
from rampart_testkit.soak_service.evidence import Evidence

MINUTE_MS = 60_000
TEAM_HOUR = 8
"""The team summary's hour (``people.team_summary_hour_utc``, left at its default)."""
DAY_TURN_MS = 30 * MINUTE_MS
"""How far past midnight a run that ends just after it goes on: the daily report (00:05) and
the monthly check (00:15) of the new day come within it."""
GRACE_MS = 10 * MINUTE_MS
"""A slot this close to the run's end is not yet due (the scheduler polls, a kill may have
just happened): the job is judged on the slot before."""
LATE_MS = 30 * MINUTE_MS
"""A job that ran more than this after its slot (business time) ran late: a planted kill's
downtime and the restart at ×120 take a few business minutes, not half an hour."""


@dataclass(frozen=True, slots=True)
class Slots:
    every_ms: int
    offset_ms: int = 0
    lag_ms: int = 0
    catch_up_first: bool = False
    """As the service's :class:`~rampart.runtime.scheduler.Job`: with no run on record, run for
    the current slot (True) or take the slot after the period's lag as the baseline (False)."""

    def slot_at(self, now_ms: int) -> int:
        return now_ms - (now_ms - self.offset_ms) % self.every_ms

    def first_due(self, begin_ms: int) -> int:
        """The first slot the service runs the job for when it starts fresh at ``begin_ms``."""
        if self.catch_up_first:
            return self.slot_at(begin_ms)
        return self.slot_at(begin_ms + self.lag_ms) + self.every_ms


def schedules(backup_every_h: float) -> dict[str, Slots]:
    """The jobs a ``rampart run`` of the soak's settings schedules, by name."""
    return {
        BACKUP_JOB: Slots(int(backup_every_h * HOUR_MS), catch_up_first=True),
        WALLET_JOB: Slots(WALLET_EVERY_MS, catch_up_first=True),
        DAILY_JOB: Slots(DAY_MS, DAILY_OFFSET_MS, DAILY_LAG_MS),
        WEEKLY_JOB: Slots(WEEK_MS, WEEKLY_OFFSET_MS, WEEKLY_LAG_MS),
        MONTHLY_JOB: Slots(DAY_MS, MONTHLY_OFFSET_MS, MONTHLY_OFFSET_MS),
        TEAM_JOB: Slots(DAY_MS, TEAM_HOUR * HOUR_MS, TEAM_HOUR * HOUR_MS),
    }


def covering_end_ms(begin_ms: int, span_ms: int) -> int:
    """Where the run ends on the business clock: ``span_ms`` after ``begin_ms``, or, when that
    falls less than :data:`DAY_TURN_MS` after a midnight the run crossed, that midnight plus
    :data:`DAY_TURN_MS` (a day that starts at 00:00 ends where the next day's reports run)."""
    end = begin_ms + span_ms
    midnight = end - end % DAY_MS
    if begin_ms < midnight and end - midnight < DAY_TURN_MS:
        return midnight + DAY_TURN_MS
    return end


def asked_end_ms(ev: Evidence) -> int | None:
    """Where the judged run ends on the business clock: the span it was asked for (see
    :func:`covering_end_ms`), or where it stopped when that came first. The clock runs on while
    the end waits for its faults, jobs and messages to settle; a job or a backup falling due in
    that wait is not the run's (at ×45 a slot every 6 minutes comes every 8 wall seconds, and a
    wait of a minute asked for backups a loaded machine had no time to make)."""
    if ev.begin_ms is None or ev.end_ms is None:
        return None
    return min(ev.end_ms, covering_end_ms(ev.begin_ms, round(ev.hours * HOUR_MS)))


def pending(
    plan: dict[str, Slots], begin_ms: int, end_ms: int, records: dict[str, tuple[int, str]]
) -> list[str]:
    """Jobs due by ``end_ms`` whose newest slot has not run yet or is running (``records``:
    job -> (last slot, status), the scheduler's)."""
    waiting = []
    for name, slots in sorted(plan.items()):
        newest = slots.slot_at(end_ms - GRACE_MS)
        if newest < slots.first_due(begin_ms):
            continue
        slot, status = records.get(name, (0, ""))
        if slot < newest or status == "running":
            waiting.append(name)
    return waiting


def _at(ms: int) -> str:
    return f"{ms_to_datetime(ms):%Y-%m-%d %H:%M}"


def job_problems(ev: Evidence, plan: dict[str, Slots]) -> tuple[list[str], list[str], list[str]]:
    """(jobs that ran for their newest due slot, jobs not due in the run, what went wrong)."""
    ran: list[str] = []
    not_due: list[str] = []
    problems: list[str] = []
    end_ms = asked_end_ms(ev)
    if ev.begin_ms is None or end_ms is None:
        return ran, not_due, ["the service's clock was never read"]
    records = {j.job: j for j in ev.jobs}
    for name, slots in sorted(plan.items()):
        first = slots.first_due(ev.begin_ms)
        newest = slots.slot_at(end_ms - GRACE_MS)
        if newest < first:
            not_due.append(f"{name} (next slot {_at(first)})")
            continue
        record = records.get(name)
        if record is None:
            problems.append(f"{name} never ran (due {_at(newest)})")
        elif record.slot_ms < newest:
            problems.append(f"{name} did not run for {_at(newest)} (last {record.last_slot})")
        elif record.status != "ok":
            problems.append(f"{name} {record.status} for {record.last_slot}: {record.detail}")
        elif record.ran_ms - record.slot_ms > LATE_MS:
            late_min = (record.ran_ms - record.slot_ms) / MINUTE_MS
            problems.append(f"{name} ran {late_min:.0f} min after its slot {record.last_slot}")
        else:
            ran.append(f"{name} {_at(record.slot_ms)[11:]}")
    return ran, not_due, problems


__all__ = [
    "DAY_TURN_MS",
    "Slots",
    "asked_end_ms",
    "covering_end_ms",
    "job_problems",
    "pending",
    "schedules",
]
