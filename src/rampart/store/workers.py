"""The ``scale_workers`` table as read: every worker that ever beat, its last heartbeat,
version, role and metrics address (each writes its own row through
:class:`~rampart.store.leases.ShardLeases`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from rampart.store.models.scale import scale_workers as w


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


__all__ = ["Worker", "worker_rows", "workers_seen"]
