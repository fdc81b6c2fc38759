"""Operations records: checklist events, uptime spans and scheduler slots.

The launch checklist (GO/NO-GO), the gates and the reports read these; the service, the
backup command, the alert test and the kill-switch drill write them. Every timestamp is UTC
milliseconds from the caller's Clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.runtime.job_runs import JobRun
from rampart.store.models.ops import ops_events, scheduler_runs, uptime_spans

BACKUP_CREATED = "backup_created"
RESTORE_DRILL = "restore_drill"
"""A backup was restored (into a scratch database or for real) and checked against its manifest."""
ALERT_TEST = "alert_test"
"""A test alert was delivered to every configured channel."""
KILL_DRILL = "kill_drill"
"""The kill switch was engaged and released as a drill."""
STAGE_ENTERED = "stage_entered"
EVIDENCE_WAIVER = "evidence_waiver"
"""The operator set GO/NO-GO's research-evidence criterion aside (``detail.waived``), or
withdrew that (``rampart rollout waive-evidence``); the newest one is in force."""


@dataclass(frozen=True, slots=True)
class OpsEvent:
    kind: str
    ts: int
    actor: str
    detail: dict[str, Any]


def record_event(
    engine: sa.Engine, kind: str, ts: int, actor: str, detail: dict[str, Any] | None = None
) -> None:
    with engine.begin() as conn:
        conn.execute(ops_events.insert().values(kind=kind, ts=ts, actor=actor, detail=detail or {}))


def last_event(engine: sa.Engine, kind: str) -> OpsEvent | None:
    """The newest event of ``kind``, or None when there has never been one."""
    query = (
        sa.select(ops_events)
        .where(ops_events.c.kind == kind)
        .order_by(ops_events.c.ts.desc(), ops_events.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return OpsEvent(row["kind"], row["ts"], row["actor"], dict(row["detail"] or {}))


def events_between(engine: sa.Engine, kind: str, start: int, end: int) -> list[OpsEvent]:
    """Events of ``kind`` with ``start <= ts < end``, oldest first."""
    query = (
        sa.select(ops_events)
        .where(ops_events.c.kind == kind, ops_events.c.ts >= start, ops_events.c.ts < end)
        .order_by(ops_events.c.ts, ops_events.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [OpsEvent(r["kind"], r["ts"], r["actor"], dict(r["detail"] or {})) for r in rows]


class UptimeRecorder:
    """Records that the service is up: one span per start, stretched by every heartbeat."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.span_id: int | None = None

    def start(self, now: int) -> None:
        with self.engine.begin() as conn:
            result = conn.execute(uptime_spans.insert().values(started_at=now, last_beat_at=now))
            self.span_id = int(result.inserted_primary_key[0])  # type: ignore[index]

    def beat(self, now: int) -> None:
        if self.span_id is None:
            self.start(now)
            return
        with self.engine.begin() as conn:
            conn.execute(
                uptime_spans.update()
                .where(uptime_spans.c.id == self.span_id)
                .values(last_beat_at=now)
            )


@dataclass(frozen=True, slots=True)
class Uptime:
    up_ms: int
    window_ms: int
    spans: int
    """Spans that overlap the window: the number of starts seen, a sample count."""

    @property
    def fraction(self) -> float | None:
        """Share of the window the service was up; None for an empty window."""
        return self.up_ms / self.window_ms if self.window_ms > 0 else None


def first_start(engine: sa.Engine) -> int | None:
    """When the service first ever started (its oldest span); None before any start."""
    with engine.connect() as conn:
        first = conn.execute(sa.select(sa.func.min(uptime_spans.c.started_at))).scalar()
    return None if first is None else int(first)


def uptime(engine: sa.Engine, start: int, end: int, *, grace_ms: int = 0) -> Uptime:
    """How much of ``[start, end)`` the service was up.

    A span counts from its start to its last heartbeat plus ``grace_ms`` (the heartbeat
    interval: the service was up until at least the next beat was due). Overlaps are merged.
    """
    query = (
        sa.select(uptime_spans.c.started_at, uptime_spans.c.last_beat_at)
        .where(uptime_spans.c.started_at < end, uptime_spans.c.last_beat_at + grace_ms > start)
        .order_by(uptime_spans.c.started_at)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    up = 0
    cursor = start
    for began, last in rows:
        lo = max(began, cursor)
        hi = min(last + grace_ms, end)
        if hi > lo:
            up += hi - lo
            cursor = hi
    return Uptime(up_ms=up, window_ms=max(0, end - start), spans=len(rows))


def last_run(engine: sa.Engine, job: str) -> JobRun | None:
    with engine.connect() as conn:
        row = (
            conn.execute(sa.select(scheduler_runs).where(scheduler_runs.c.job == job))
            .mappings()
            .first()
        )
    if row is None:
        return None
    return JobRun(row["job"], row["last_slot"], row["last_run_at"], row["status"], row["detail"])


def all_runs(engine: sa.Engine) -> list[JobRun]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(scheduler_runs).order_by(scheduler_runs.c.job)).mappings()
        return [
            JobRun(r["job"], r["last_slot"], r["last_run_at"], r["status"], r["detail"])
            for r in rows
        ]


def save_run(engine: sa.Engine, run: JobRun) -> None:
    values = {
        "last_slot": run.last_slot,
        "last_run_at": run.last_run_at,
        "status": run.status,
        "detail": run.detail[:2000],
    }
    with engine.begin() as conn:
        updated = conn.execute(
            scheduler_runs.update().where(scheduler_runs.c.job == run.job).values(**values)
        ).rowcount
        if not updated:
            conn.execute(scheduler_runs.insert().values(job=run.job, **values))


class StoredJobRuns:
    """The scheduler's job runs in the ``scheduler_runs`` table (``runtime.job_runs.JobRuns``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def last(self, job: str) -> JobRun | None:
        return last_run(self.engine, job)

    def save(self, run: JobRun) -> None:
        save_run(self.engine, run)

    def all(self) -> list[JobRun]:
        return all_runs(self.engine)
