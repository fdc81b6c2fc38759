"""The ``scale_workers`` table as read: every worker that ever beat, its last heartbeat,
version, role and metrics address (each writes its own row through
:class:`~rampart.store.leases.ShardLeases`).

A worker's name is not its process: two processes started under one name (a twin, a restart
that overlaps the old one) share that row, and each beat overwrites it, so a dead twin hides
behind a live one. Each process therefore also beats its own *instance* row (scale state
``instance:<id>``, the id drawn at its start: its name, last heartbeat and metrics address),
which the server holding the ops lease watches one by one (:func:`worker_instances`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from rampart.store.dialects import dialect_insert
from rampart.store.models.scale import scale_state as s
from rampart.store.models.scale import scale_workers as w

INSTANCE = "instance:"
"""Scale state key prefix of a process's own heartbeat row, then its id."""


@dataclass(frozen=True, slots=True)
class Worker:
    """One row of ``scale_workers``."""

    seen_ms: int
    version: str
    role: str
    metrics_url: str = ""
    """Where it serves its metrics; "" when it serves none or once it left cleanly."""


def worker_rows(engine: sa.Engine) -> dict[str, Worker]:
    """Every worker that ever beat, with its last heartbeat (UTC ms, wall clock), version,
    role and metrics address."""
    query = sa.select(w.c.name, w.c.seen_ms, w.c.version, w.c.role, w.c.metrics_url)
    with engine.connect() as conn:
        return {
            str(r["name"]): Worker(
                int(r["seen_ms"]), str(r["version"]), str(r["role"]), str(r["metrics_url"])
            )
            for r in conn.execute(query.order_by(w.c.name)).mappings()
        }


def workers_seen(engine: sa.Engine) -> dict[str, int]:
    """Each worker's last heartbeat (UTC ms on the wall clock)."""
    with engine.connect() as conn:
        found = conn.execute(sa.select(w.c.name, w.c.seen_ms).order_by(w.c.name)).mappings()
        return {str(r["name"]): int(r["seen_ms"]) for r in found}


@dataclass(frozen=True, slots=True)
class Instance:
    """One process of a worker: its name, first and last heartbeat (UTC ms) and metrics
    address."""

    id: str
    name: str
    seen_ms: int
    metrics_url: str
    started_ms: int = 0


def beat_instance(
    conn: sa.Connection, instance: str, name: str, started: int, now: int, url: str
) -> None:
    """Write this process's own heartbeat row (in the caller's transaction); ``started``: its
    first beat."""
    payload: dict[str, Any] = {
        "name": name,
        "started_ms": started,
        "seen_ms": now,
        "metrics_url": url,
    }
    ins = dialect_insert(conn.dialect.name)(s).values(
        key=INSTANCE + instance, payload=payload, changed_ms=now
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=[s.c.key], set_={"payload": payload, "changed_ms": now}
        )
    )


def leave_instance(conn: sa.Connection, instance: str) -> None:
    """This process stopped on purpose: its row goes (a clean stop is no worker down)."""
    conn.execute(sa.delete(s).where(s.c.key == INSTANCE + instance))


def worker_instances(engine: sa.Engine, forget_before_ms: int | None = None) -> list[Instance]:
    """Every process that beat its own row, oldest first; with ``forget_before_ms``, the rows
    of processes silent since before then are deleted first (crashed long ago)."""
    rows = sa.select(s.c.key, s.c.payload).where(s.c.key.startswith(INSTANCE, autoescape=True))
    with engine.begin() as conn:
        if forget_before_ms is not None:
            old = s.c.key.startswith(INSTANCE, autoescape=True) & (
                s.c.changed_ms < forget_before_ms
            )
            conn.execute(sa.delete(s).where(old))
        found = conn.execute(rows.order_by(s.c.changed_ms, s.c.key)).all()
    return [
        Instance(
            str(key)[len(INSTANCE) :],
            str(doc.get("name", "")),
            int(doc.get("seen_ms", 0)),
            str(doc.get("metrics_url", "")),
            int(doc.get("started_ms", 0)),
        )
        for key, doc in ((row.key, dict(row.payload)) for row in found)
    ]


__all__ = [
    "INSTANCE",
    "Instance",
    "Worker",
    "beat_instance",
    "leave_instance",
    "worker_instances",
    "worker_rows",
    "workers_seen",
]
