"""Incidents on the store: opened by an alert rule, acknowledged by an operator, resolved when
the condition clears. Every step is also written to ``incident_events`` as a timeline.

At most one incident per ``key`` (rule + labels) is not yet resolved; the alert engine relies
on :func:`active_incidents` to pick them up again after a restart instead of opening twins.
Database failures become a StoreError with one sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa

from rampart.domain.errors import RampartError, present
from rampart.observability.logging import mask_text
from rampart.store import models as m
from rampart.store.errors import translating

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED)
ACTIVE = "active"
"""Not a stored status: a filter meaning open or acknowledged."""
MAX_LIMIT = 10_000
SYSTEM = "rampart"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    key: str
    rule: str
    severity: str
    status: str
    summary: str
    value: float | None
    threshold: float | None
    labels: dict[str, str] = field(default_factory=dict)
    opened_at: int = 0
    acknowledged_at: int | None = None
    acknowledged_by: str | None = None
    resolved_at: int | None = None
    notifications: int = 0
    last_notified_at: int | None = None
    eta_at: int | None = None
    """When the operator expects it fixed (UTC ms); told to the investors it affects."""
    notified_ops_at: int | None = None
    """The last notice on the alert engine's ops clock: repeats go on from it after a restart."""

    @property
    def active(self) -> bool:
        return self.status != RESOLVED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    incident_id: int
    ts: int
    kind: str
    actor: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _record(row: Any) -> IncidentRecord:
    return IncidentRecord(
        id=int(row.id),
        key=row.key,
        rule=row.rule,
        severity=row.severity,
        status=row.status,
        summary=row.summary,
        value=row.value,
        threshold=row.threshold,
        labels={str(k): str(v) for k, v in (row.labels or {}).items()},
        opened_at=int(row.opened_at),
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        resolved_at=row.resolved_at,
        notifications=int(row.notifications),
        last_notified_at=row.last_notified_at,
        eta_at=row.eta_at,
        notified_ops_at=row.notified_ops_at,
    )


@contextmanager
def _begin(db: sa.Engine, what: str) -> Iterator[sa.Connection]:
    with translating(f"{what} failed in the database"), db.begin() as conn:
        yield conn


def _select(db: sa.Engine, stmt: Any, what: str, convert: Callable[[Any], T]) -> list[T]:
    with _begin(db, f"Reading {what}") as conn:
        return [convert(row) for row in conn.execute(stmt).all()]


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise RampartError(f"The limit must be a whole number from 1 to {MAX_LIMIT:,}.")
    return limit


def list_incidents(
    db: sa.Engine, status: str | None = None, limit: int = 100
) -> list[IncidentRecord]:
    """Incidents, newest first; ``status`` is open, acknowledged, resolved or active."""
    c = m.incidents.c
    stmt = sa.select(m.incidents).order_by(c.opened_at.desc(), c.id.desc())
    if status is not None:
        wanted = status.strip().lower()
        if wanted == ACTIVE:
            stmt = stmt.where(c.status != RESOLVED)
        elif wanted in STATUSES:
            stmt = stmt.where(c.status == wanted)
        else:
            choices = ", ".join((*STATUSES, ACTIVE))
            raise RampartError(f"Unknown incident status {status!r}; use one of {choices}.")
    return _select(db, stmt.limit(_check_limit(limit)), "incidents", _record)


def get_incident(db: sa.Engine, incident_id: int) -> IncidentRecord | None:
    found = _select(
        db, sa.select(m.incidents).where(m.incidents.c.id == incident_id), "the incident", _record
    )
    return found[0] if found else None


def incident_timeline(db: sa.Engine, incident_id: int) -> list[IncidentEvent]:
    """The incident's events, oldest first."""
    c = m.incident_events.c
    stmt = (
        sa.select(c.incident_id, c.ts, c.kind, c.actor, c.note)
        .where(c.incident_id == incident_id)
        .order_by(c.ts, c.id)
    )
    return _select(
        db,
        stmt,
        "the incident timeline",
        lambda r: IncidentEvent(int(r.incident_id), int(r.ts), r.kind, r.actor, r.note),
    )


def active_incidents(db: sa.Engine) -> list[IncidentRecord]:
    """Incidents not yet resolved, oldest first (what the alert engine resumes after a restart)."""
    c = m.incidents.c
    stmt = sa.select(m.incidents).where(c.status != RESOLVED).order_by(c.opened_at, c.id)
    return _select(db, stmt, "active incidents", _record)


def _event(
    conn: sa.Connection, incident_id: int, ts: int, kind: str, actor: str, note: str
) -> None:
    conn.execute(
        sa.insert(m.incident_events).values(
            # A notifier's error may quote a webhook URL with its token: masked like a log line.
            incident_id=incident_id,
            ts=ts,
            kind=kind,
            actor=actor,
            note=mask_text(note),
        )
    )


def _fetch(conn: sa.Connection, incident_id: int) -> IncidentRecord | None:
    row = conn.execute(sa.select(m.incidents).where(m.incidents.c.id == incident_id)).first()
    return None if row is None else _record(row)


def open_incident(
    db: sa.Engine,
    *,
    key: str,
    rule: str,
    severity: str,
    summary: str,
    value: float | None,
    threshold: float | None,
    labels: Mapping[str, str],
    now_ms: int,
) -> IncidentRecord:
    """Open an incident, or return the one already active under ``key`` (never a twin)."""
    c = m.incidents.c
    with _begin(db, "Opening an incident") as conn:
        existing = conn.execute(
            sa.select(m.incidents).where(c.key == key, c.status != RESOLVED).limit(1)
        ).first()
        if existing is not None:
            return _record(existing)
        result = conn.execute(
            sa.insert(m.incidents).values(
                key=key,
                rule=rule,
                severity=severity,
                status=OPEN,
                summary=mask_text(summary),
                value=value,
                threshold=threshold,
                labels=dict(labels),
                opened_at=now_ms,
                notifications=0,
            )
        )
        incident_id = int(result.inserted_primary_key[0])
        _event(conn, incident_id, now_ms, "opened", SYSTEM, summary)
        found = _fetch(conn, incident_id)
    return present(found, f"incident #{incident_id} just opened")


def acknowledge(db: sa.Engine, incident_id: int, actor: str, now_ms: int) -> IncidentRecord:
    """Mark an open incident acknowledged so its notices stop repeating.

    Acknowledging an already acknowledged incident changes nothing and returns it.
    """
    who = (actor or "").strip()
    if not who:
        raise RampartError("Say who acknowledges the incident (a name is required).")
    c = m.incidents.c
    with _begin(db, "Acknowledging the incident") as conn:
        found = _fetch(conn, incident_id)
        if found is None:
            raise RampartError(f"There is no incident {incident_id}.")
        if found.status == RESOLVED:
            raise RampartError(f"Incident {incident_id} is already resolved.")
        if found.status == ACKNOWLEDGED:
            return found
        conn.execute(
            sa.update(m.incidents)
            .where(c.id == incident_id, c.status == OPEN)
            .values(status=ACKNOWLEDGED, acknowledged_at=now_ms, acknowledged_by=who[: m.ID])
        )
        _event(conn, incident_id, now_ms, "acknowledged", who[: m.ID], f"acknowledged by {who}")
        updated = _fetch(conn, incident_id)
    return present(updated, f"incident #{incident_id} just acknowledged")


def set_eta(
    db: sa.Engine, incident_id: int, eta_ms: int | None, actor: str, now_ms: int
) -> IncidentRecord:
    """Set (or clear, with None) when the operator expects an active incident fixed."""
    with _begin(db, "Setting the incident's expected fix time") as conn:
        found = _fetch(conn, incident_id)
        if found is None:
            raise RampartError(f"There is no incident {incident_id}.")
        if found.status == RESOLVED:
            raise RampartError(f"Incident {incident_id} is already resolved.")
        table = m.incidents
        conn.execute(sa.update(table).where(table.c.id == incident_id).values(eta_at=eta_ms))
        note = "expected time to fix cleared" if eta_ms is None else f"expected fixed at {eta_ms}"
        _event(conn, incident_id, now_ms, "eta", actor[: m.ID], note)
        updated = _fetch(conn, incident_id)
    return present(updated, f"incident #{incident_id} just given an expected time")


def resolve(db: sa.Engine, incident_id: int, now_ms: int, note: str) -> IncidentRecord | None:
    """Resolve an active incident; None if it is gone or already resolved."""
    c = m.incidents.c
    with _begin(db, "Resolving the incident") as conn:
        done = conn.execute(
            sa.update(m.incidents)
            .where(c.id == incident_id, c.status != RESOLVED)
            .values(status=RESOLVED, resolved_at=now_ms)
        )
        if done.rowcount == 0:
            return None
        _event(conn, incident_id, now_ms, "resolved", SYSTEM, note)
        return _fetch(conn, incident_id)


def record_notification(
    db: sa.Engine,
    incident_id: int,
    now_ms: int,
    kind: str,
    note: str,
    value: float | None,
    ops_ms: int | None = None,
) -> IncidentRecord | None:
    """Count a notice sent for the incident (``notified`` or ``repeated``) and its latest value.

    ``ops_ms``: when it was sent on the alert engine's ops clock (``now_ms`` is business time),
    what the next repeat counts from, also after a restart."""
    c = m.incidents.c
    with _begin(db, "Recording a notification") as conn:
        conn.execute(
            sa.update(m.incidents)
            .where(c.id == incident_id)
            .values(
                notifications=c.notifications + 1,
                last_notified_at=now_ms,
                notified_ops_at=ops_ms,
                value=value,
            )
        )
        _event(conn, incident_id, now_ms, kind, SYSTEM, note)
        return _fetch(conn, incident_id)


def add_event(
    db: sa.Engine, incident_id: int, now_ms: int, kind: str, note: str, actor: str = SYSTEM
) -> None:
    """Append a timeline entry, e.g. ``notify_failed`` with the reason."""
    with _begin(db, "Recording an incident event") as conn:
        _event(conn, incident_id, now_ms, kind, actor, note)


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """A condition that holds but not yet for its rule's ``for``: since when (ops clock)."""

    key: str
    rule: str
    since: int


def pending_timers(db: sa.Engine) -> list[PendingTimer]:
    t = m.alert_pending
    return _select(
        db,
        sa.select(t.c.key, t.c.rule, t.c.since).order_by(t.c.since, t.c.key),
        "pending alert timers",
        lambda r: PendingTimer(r.key, r.rule, int(r.since)),
    )


def start_pending(db: sa.Engine, key: str, rule: str, since: int) -> None:
    """Remember that ``key``'s condition holds since ``since`` (the earliest start is kept)."""
    t = m.alert_pending
    with _begin(db, "Recording a pending alert") as conn:
        found = conn.execute(sa.select(t.c.since).where(t.c.key == key)).first()
        if found is None:
            conn.execute(sa.insert(t).values(key=key, rule=rule, since=since))


def stop_pending(db: sa.Engine, keys: Iterable[str]) -> None:
    """Forget the timers of conditions that cleared or became incidents."""
    wanted = list(keys)
    if not wanted:
        return
    t = m.alert_pending
    with _begin(db, "Clearing pending alerts") as conn:
        conn.execute(sa.delete(t).where(t.c.key.in_(wanted)))
