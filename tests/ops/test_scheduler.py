"""The Scheduler on simulated time: slots, one catch-up after downtime (never two, not even
across a restart), failures recorded and retried at the next slot; and uptime spans merged."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.reports.store import list_reports
from rampart.runtime.scheduler import DAY_MS, HOUR_MS, MONDAY_OFFSET_MS, WEEK_MS, Job, Scheduler
from rampart.store.db import open_database
from rampart.store.models.ops import uptime_spans
from rampart.store.ops_records import StoredJobRuns, UptimeRecorder, last_run, uptime
from rampart.wiring.service import Service
from tests.fast_wall_clock import FastWallClock

T0 = int(datetime(2024, 3, 6, 13, 0, tzinfo=UTC).timestamp() * 1000)  # a Wednesday
MIN = 60_000


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


class Recorder:
    def __init__(self, fail: set[int] | None = None) -> None:
        self.slots: list[int] = []
        self.fail = fail or set()

    async def __call__(self, slot: int) -> str:
        self.slots.append(slot)
        if slot in self.fail:
            raise RuntimeError(f"boom at {slot}")
        return f"ran {slot}"


def _scheduler(db: sa.Engine, clock: SimClock, *jobs: Job) -> Scheduler:
    scheduler = Scheduler(StoredJobRuns(db), clock)
    for job in jobs:
        scheduler.add(job)
    return scheduler


def test_slots_are_offset_multiples_and_weekly_slots_are_mondays() -> None:
    daily = Job("d", DAY_MS, Recorder(), offset_ms=5 * MIN)
    assert daily.slot_at(T0) == T0 - 13 * HOUR_MS + 5 * MIN
    assert daily.slot_at(T0 - 13 * HOUR_MS + 5 * MIN) == T0 - 13 * HOUR_MS + 5 * MIN
    assert daily.slot_at(T0 - 13 * HOUR_MS + 4 * MIN) == T0 - 37 * HOUR_MS + 5 * MIN
    weekly = Job("w", WEEK_MS, Recorder(), offset_ms=MONDAY_OFFSET_MS + 10 * MIN)
    slot = datetime.fromtimestamp(weekly.slot_at(T0) / 1000, tz=UTC)
    assert (slot.weekday(), slot.hour, slot.minute, slot.day) == (0, 0, 10, 4)


def test_bad_jobs_are_refused(db: sa.Engine) -> None:
    scheduler = _scheduler(db, SimClock(T0), Job("a", DAY_MS, Recorder()))
    with pytest.raises(ValueError, match="already scheduled"):
        scheduler.add(Job("a", DAY_MS, Recorder()))
    with pytest.raises(ValueError, match="positive interval"):
        scheduler.add(Job("b", 0, Recorder()))


def test_a_fresh_job_waits_for_its_next_slot_then_runs_once_per_slot(db: sa.Engine) -> None:
    clock = SimClock(T0)
    run = Recorder()
    scheduler = _scheduler(db, clock, Job("daily", DAY_MS, run, offset_ms=5 * MIN))

    async def scenario() -> None:
        assert await scheduler.run_due() == []  # the current slot is the baseline, not run
        assert run.slots == []
        clock.advance(11 * HOUR_MS)  # 00:00 Thursday: not yet
        assert await scheduler.run_due() == []
        clock.advance(5 * MIN)  # 00:05 Thursday
        outcomes = await scheduler.run_due()
        assert [(o.ok, o.slot) for o in outcomes] == [(True, clock.now_ms())]
        for _ in range(5):  # polling again in the same slot runs nothing
            clock.advance(MIN)
            assert await scheduler.run_due() == []

    asyncio.run(scenario())
    assert run.slots == [T0 + 11 * HOUR_MS + 5 * MIN]
    found = last_run(db, "daily")
    assert found is not None and found.status == "ok" and found.detail == f"ran {run.slots[0]}"


def test_catch_up_first_runs_for_the_current_slot_at_once(db: sa.Engine) -> None:
    run = Recorder()
    job = Job("eager", DAY_MS, run, offset_ms=5 * MIN, catch_up_first=True)
    outcomes = asyncio.run(_scheduler(db, SimClock(T0), job).run_due())
    assert [o.slot for o in outcomes] == [job.slot_at(T0)] == run.slots


def test_after_a_long_downtime_a_missed_run_is_caught_up_once_never_twice(
    db: sa.Engine,
) -> None:
    clock = SimClock(T0)
    run = Recorder()

    def job() -> Job:
        return Job("daily", DAY_MS, run, offset_ms=5 * MIN)

    async def scenario() -> None:
        first = _scheduler(db, clock, job())
        await first.run_due()  # baseline
        # Down for ten days: ten slots were missed.
        clock.advance(10 * DAY_MS)
        restarted = _scheduler(db, clock, job())
        outcomes = await restarted.run_due()
        assert [o.slot for o in outcomes] == [job().slot_at(clock.now_ms())]
        # A second restart at the same moment (or a crash right after) runs nothing.
        again = _scheduler(db, clock, job())
        assert await again.run_due() == []
        clock.advance(HOUR_MS)
        assert await _scheduler(db, clock, job()).run_due() == []

    asyncio.run(scenario())
    assert len(run.slots) == 1


def test_a_run_interrupted_mid_way_is_not_run_again_after_a_restart(db: sa.Engine) -> None:
    clock = SimClock(T0)
    started = asyncio.Event()

    async def hangs(slot: int) -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    async def scenario() -> None:
        job = Job("slow", DAY_MS, hangs, catch_up_first=True)
        first = _scheduler(db, clock, job)
        task = asyncio.create_task(first.run_due())
        await started.wait()
        task.cancel()  # the process dies while the job runs
        with pytest.raises(asyncio.CancelledError):
            await task
        run = Recorder()
        restarted = _scheduler(db, clock, Job("slow", DAY_MS, run, catch_up_first=True))
        assert await restarted.run_due() == []
        assert run.slots == []

    asyncio.run(scenario())
    found = last_run(db, "slow")
    assert found is not None and found.status == "interrupted"


def test_a_failing_job_is_recorded_and_retried_at_the_next_slot(db: sa.Engine) -> None:
    clock = SimClock(T0)
    first_slot = Job("x", DAY_MS, Recorder()).slot_at(T0)
    run = Recorder(fail={first_slot})
    ok = Recorder()
    told: list[tuple[str, str]] = []
    scheduler = Scheduler(
        StoredJobRuns(db), clock, on_failure=lambda name, detail: told.append((name, detail))
    )
    scheduler.add(Job("flaky", DAY_MS, run, catch_up_first=True))
    scheduler.add(Job("fine", DAY_MS, ok, catch_up_first=True))

    async def scenario() -> None:
        outcomes = await scheduler.run_due()
        assert {o.job: o.ok for o in outcomes} == {"flaky": False, "fine": True}
        clock.advance(HOUR_MS)  # the same slot: the failure is not retried at once
        assert await scheduler.run_due() == []
        clock.advance(DAY_MS)
        outcomes = await scheduler.run_due()
        assert {o.job: o.ok for o in outcomes} == {"flaky": True, "fine": True}

    asyncio.run(scenario())
    assert run.slots == [first_slot, first_slot + DAY_MS]
    assert scheduler.failures == 1
    assert told == [("flaky", f"RuntimeError: boom at {first_slot}")]
    assert {r.job: r.status for r in scheduler.runs()} == {"fine": "ok", "flaky": "ok"}


def test_a_failure_is_kept_on_record(db: sa.Engine) -> None:
    clock = SimClock(T0)
    slot = Job("x", DAY_MS, Recorder()).slot_at(T0)
    scheduler = _scheduler(db, clock, Job("bad", DAY_MS, Recorder({slot}), catch_up_first=True))
    asyncio.run(scheduler.run_due())
    found = last_run(db, "bad")
    assert found is not None
    assert (found.status, found.last_slot, found.detail) == (
        "failed",
        slot,
        f"RuntimeError: boom at {slot}",
    )


def test_after_every_job_ok_or_failed_the_after_hook_runs_once_its_run_is_recorded(
    db: sa.Engine,
) -> None:
    clock = SimClock(T0)
    slot = Job("x", DAY_MS, Recorder()).slot_at(T0)
    seen: list[dict[str, str]] = []
    records = StoredJobRuns(db)

    def after() -> None:  # what the record says when the hook runs
        seen.append({r.job: r.status for r in records.all()})

    scheduler = Scheduler(records, clock, after_job=after)
    scheduler.add(Job("bad", DAY_MS, Recorder({slot}), catch_up_first=True))
    scheduler.add(Job("fine", DAY_MS, Recorder(), catch_up_first=True))
    asyncio.run(scheduler.run_due())
    assert seen == [{"bad": "failed"}, {"bad": "failed", "fine": "ok"}]
    asyncio.run(scheduler.run_due())  # nothing due: no job, no hook
    assert len(seen) == 2


def test_the_service_runs_the_scheduler_on_the_orders_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real service on the synthetic feed (2024-01-01 onwards) whose ops clock is a wall
    date years later: the scheduler (a supervised component) runs on the candles' time, so the
    first daily report is made at simulated 2024-01-02 00:05 for the day the service traded,
    and holds that day's orders; the day before the first candle is never reported. After its
    jobs the heap's free pages are given back."""
    settings = load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
        feed={"speed": 1e9},
        api={"enabled": False},
        alerts={"enabled": False},
    )
    # Ops time runs 20x (the scheduler polls every 50 ms) so it sees the day's 00:05 slot
    # before the feed ends.
    wall = FastWallClock(int(datetime(2026, 11, 22, tzinfo=UTC).timestamp() * 1000), 20.0)
    first_day = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
    console = Console(file=(tmp_path / "screen.txt").open("a"), width=160)
    # A day and a half of candles: the feed stops at 2024-01-02 12:00 by itself, so no stop
    # lands on a report half made and the next day's report (due 01-03 00:05) is never due.
    # (Stopping the moment a report shows up raced the job, which then ended 'interrupted'.)
    candles = int(1.5 * 24 * 60) * len(settings.feed.symbols)
    given_back: list[str] = []
    monkeypatch.setattr("rampart.wiring.service.give_back", lambda: given_back.append("heap"))
    service = Service(
        settings, console, max_candles=candles, view=False, install_signals=False, ops_clock=wall
    )
    asyncio.run(asyncio.wait_for(service.run(), 120))
    assert "scheduler" in service.supervisor.names()
    assert given_back  # the heap's free pages given back after its jobs (the report among them)
    db = open_database(settings.store.url)
    try:
        # The day the service traded, made at its 00:05; never the day before the first candle.
        reports = list_reports(db, kind="daily")
        assert [r.period_start for r in reports] == [first_day]
        found = last_run(db, "report_daily")
        assert found is not None and found.status == "ok"
        assert found.last_slot == first_day + DAY_MS + 5 * MIN
        assert "no operator chat" in found.detail
        with db.connect() as conn:
            orders = conn.execute(
                sa.text("SELECT count(*) FROM orders WHERE created_at >= :a AND created_at < :b"),
                {"a": first_day, "b": first_day + DAY_MS},
            ).scalar_one()
        assert orders > 0
        assert reports[0].figures["orders_submitted"] == orders
    finally:
        db.dispose()


# -- uptime ---------------------------------------------------------------------------------


def _spans(db: sa.Engine, *spans: tuple[int, int]) -> None:
    with db.begin() as conn:
        for began, last in spans:
            conn.execute(uptime_spans.insert().values(started_at=began, last_beat_at=last))


def test_uptime_merges_overlapping_spans_and_clips_to_the_window(db: sa.Engine) -> None:
    _spans(db, (0, 100), (50, 300), (400, 500), (450, 480), (900, 2000))
    found = uptime(db, 0, 1000)
    assert (found.up_ms, found.window_ms, found.spans) == (300 + 100 + 100, 1000, 5)
    assert found.fraction == 0.5
    inside = uptime(db, 200, 450)  # a window starting and ending inside spans
    assert (inside.up_ms, inside.spans) == (100 + 50, 2)  # (450, 480) starts at the end


def test_uptime_grace_extends_each_span_to_its_next_due_heartbeat(db: sa.Engine) -> None:
    _spans(db, (0, 100), (150, 200))
    assert uptime(db, 0, 1000, grace_ms=0).up_ms == 150
    assert uptime(db, 0, 1000, grace_ms=30).up_ms == 130 + 80
    assert uptime(db, 0, 1000, grace_ms=60).up_ms == 260  # the gap closes: no double count
    assert uptime(db, 0, 220, grace_ms=60).up_ms == 220  # clipped at the window's end
    # A span that ended just before the window still counts through its grace.
    assert uptime(db, 210, 300, grace_ms=60).up_ms == 50


def test_uptime_of_an_empty_window_and_a_window_without_spans(db: sa.Engine) -> None:
    _spans(db, (100, 200))
    assert uptime(db, 500, 500).fraction is None
    nothing = uptime(db, 1000, 2000)
    assert (nothing.up_ms, nothing.spans, nothing.fraction) == (0, 0, 0.0)


def test_the_uptime_recorder_stretches_one_span_per_start(db: sa.Engine) -> None:
    recorder = UptimeRecorder(db)
    recorder.start(1_000)
    for ts in (2_000, 3_000, 4_000):
        recorder.beat(ts)
    again = UptimeRecorder(db)  # a restart after a 6 s outage
    again.beat(10_000)
    again.beat(12_000)
    found = uptime(db, 0, 20_000, grace_ms=1_000)
    assert (found.up_ms, found.spans) == ((5_000 - 1_000) + (13_000 - 10_000), 2)
