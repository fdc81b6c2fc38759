"""Jobs on the Clock: reports, gate evaluation, reconciliation and backups.

Each job has slots ``offset + k × every``. A job is due when its newest slot at or before now
is later than the slot it last ran for, which is stored, so a restart neither repeats a run
nor skips one: after downtime that spanned several slots the job runs once, for the newest.
A failed run is recorded and counted; the job tries again at its next slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from rampart.clock import Clock
from rampart.runtime.job_runs import JobRun, JobRuns
from rampart.runtime.supervisor import Beat

log = structlog.get_logger("rampart.scheduler")

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
MONDAY_OFFSET_MS = 4 * DAY_MS
"""The epoch (1970-01-01) was a Thursday; weekly slots shifted by four days start on Mondays."""

JobFunc = Callable[[int], Awaitable[str | None]]
"""Runs the job for a slot (UTC ms); returns a line saying what it did."""


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every_ms: int
    run: JobFunc
    offset_ms: int = 0
    catch_up_first: bool = False
    """With no run on record: run for the current slot now (True), or take the current slot as
    done and wait for the next one (False, so a fresh install sends no report of an empty day)."""
    period_lag_ms: int = 0
    """How long after the end of the period it reports on a slot comes (a daily report at
    00:05 reports on the day that ended at 00:00). With no run on record, a slot whose period
    ended before the first run is taken as done too: it would report on a time before the
    service existed."""

    def slot_at(self, now: int) -> int:
        """The newest slot at or before ``now``."""
        return now - (now - self.offset_ms) % self.every_ms


@dataclass(frozen=True, slots=True)
class RunOutcome:
    job: str
    slot: int
    ok: bool
    detail: str


class Scheduler:
    def __init__(
        self,
        records: JobRuns,
        clock: Clock,
        *,
        poll_s: float = 1.0,
        on_failure: Callable[[str, str], None] | None = None,
        after_job: Callable[[], object] | None = None,
    ) -> None:
        self.records = records
        self.clock = clock
        self.poll_s = poll_s
        self.on_failure = on_failure
        self.after_job = after_job
        """Run off the loop after every job, whatever its outcome (the service gives the heap's
        free pages back: a backup's or a report's peak would otherwise stay resident)."""
        self.jobs: dict[str, Job] = {}
        self.failures = 0
        self._done: dict[str, int] = {}
        """The last slot each job ran for: read from the store once, then kept here (this
        scheduler is the only writer), so polling costs no query."""

    def add(self, job: Job) -> None:
        if job.every_ms <= 0:
            raise ValueError(f"job {job.name!r} needs a positive interval")
        if job.name in self.jobs:
            raise ValueError(f"job {job.name!r} is already scheduled")
        self.jobs[job.name] = job

    def due(self, now: int) -> list[tuple[Job, int]]:
        found = []
        for job in self.jobs.values():
            slot = job.slot_at(now)
            if job.name not in self._done:
                previous = self.records.last(job.name)
                if previous is not None:
                    self._done[job.name] = previous.last_slot
                elif not job.catch_up_first:
                    baseline = job.slot_at(now + job.period_lag_ms)
                    self.records.save(JobRun(job.name, baseline, now, "baseline", "scheduled"))
                    self._done[job.name] = baseline
            done = self._done.get(job.name)
            if done is None or slot > done:
                found.append((job, slot))
        return found

    async def run_due(self) -> list[RunOutcome]:
        outcomes = []
        for job, slot in self.due(self.clock.now_ms()):
            outcomes.append(await self.run_job(job, slot))
        return outcomes

    async def run_job(self, job: Job, slot: int) -> RunOutcome:
        # The slot is stored before the run too: a crash mid-run must not make the restart run
        # it a second time (a backup or a report sent twice is worse than one missed).
        started = self.clock.now_ms()
        self.records.save(JobRun(job.name, slot, started, "running", ""))
        self._done[job.name] = slot
        try:
            detail = await job.run(slot) or "done"
            ok = True
        except asyncio.CancelledError:
            self.records.save(JobRun(job.name, slot, started, "interrupted", ""))
            raise
        except Exception as exc:  # one failed job must not stop the others
            detail = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            ok = False
            self.failures += 1
            log.warning("scheduled job failed", job=job.name, slot=slot, error=detail)
            if self.on_failure is not None:
                self.on_failure(job.name, detail)
        self.records.save(
            JobRun(job.name, slot, self.clock.now_ms(), "ok" if ok else "failed", detail)
        )
        if self.after_job is not None:
            await asyncio.to_thread(self.after_job)
        return RunOutcome(job.name, slot, ok, detail)

    def runs(self) -> list[JobRun]:
        return self.records.all()

    async def run(self, stop: asyncio.Event, beat: Beat) -> None:
        """The supervised component: run what is due, beat, wait a poll interval.

        It also beats while a job runs: a report or a backup that takes longer than the
        heartbeat bound is work, not a dead worker (its failure is counted by itself)."""

        async def tick() -> None:
            while True:
                await self.clock.sleep(self.poll_s)
                beat()

        ticker = asyncio.create_task(tick())
        try:
            while not stop.is_set():
                await self.run_due()
                beat()
                await self.clock.sleep(self.poll_s)
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
