"""What every worker applies whichever shards it holds: one JSON document per key
in ``scale_state`` (``controls``: the kill switch engaged through ``rampart serve``;
``deploy``: the blue-green deploy in progress). The command stream carries a change at once;
this row carries it to a worker that was cut off, or that takes a shard or starts later."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc

from rampart.domain.errors import StoreError
from rampart.store.dialects import dialect_insert
from rampart.store.errors import explain
from rampart.store.models.scale import scale_state as t

CONTROLS = "controls"
DEPLOY = "deploy"
TAKE_FAILURES = "take-failures:"
"""Key prefix, then a worker's name: ``{"version", "at": [ms of its last failed takes]}``."""
KEEP_FAILURES = 20
WORKER_ERRORS = "worker-errors:"
"""Key prefix, then a worker's name: ``{"version", "at": [ms of its last error lines]}``."""
KEEP_ERRORS = 100


def read_state(engine: sa.Engine, key: str) -> dict[str, Any] | None:
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.select(t.c.payload).where(t.c.key == key)).scalar()
    except exc.SQLAlchemyError as err:
        raise StoreError(f"The scale state could not be read: {explain(err)}.") from err
    return dict(found) if found is not None else None


def read_states(engine: sa.Engine, prefix: str) -> dict[str, dict[str, Any]]:
    """Every document whose key starts with ``prefix``, by the rest of its key."""
    query = sa.select(t.c.key, t.c.payload).where(t.c.key.startswith(prefix, autoescape=True))
    try:
        with engine.connect() as conn:
            found = conn.execute(query).all()
    except exc.SQLAlchemyError as err:
        raise StoreError(f"The scale state could not be read: {explain(err)}.") from err
    return {str(row.key)[len(prefix) :]: dict(row.payload) for row in found}


def write_state(engine: sa.Engine, key: str, payload: dict[str, Any], now_ms: int) -> None:
    ins = dialect_insert(engine.dialect.name)(t).values(key=key, payload=payload, changed_ms=now_ms)
    stmt = ins.on_conflict_do_update(
        index_elements=[t.c.key], set_={"payload": payload, "changed_ms": now_ms}
    )
    try:
        with engine.begin() as conn:
            conn.execute(stmt)
    except exc.SQLAlchemyError as err:
        raise StoreError(f"The scale state could not be written: {explain(err)}.") from err


def record_take_failure(
    engine: sa.Engine, worker: str, version: str, seen: list[int], now_ms: int
) -> None:
    """Add a failed shard take of ``worker`` (running ``version``) to its own row; ``seen``: the
    times it recorded before (the worker keeps them: no other process writes its row)."""
    seen.append(now_ms)
    del seen[:-KEEP_FAILURES]
    write_state(engine, TAKE_FAILURES + worker, {"version": version, "at": list(seen)}, now_ms)


def take_failures(engine: sa.Engine, version: str, since_ms: int) -> int:
    """Shard takes that workers of ``version`` failed at or after ``since_ms``."""
    return _count_since(engine, TAKE_FAILURES, version, since_ms)


def record_worker_errors(
    engine: sa.Engine, worker: str, version: str, seen: list[int], count: int, now_ms: int
) -> None:
    """Add ``count`` error lines ``worker`` (running ``version``) logged by ``now_ms`` to its own
    row, the last :data:`KEEP_ERRORS` kept; ``seen``: the times it recorded before."""
    seen.extend([now_ms] * count)
    del seen[:-KEEP_ERRORS]
    write_state(engine, WORKER_ERRORS + worker, {"version": version, "at": list(seen)}, now_ms)


def worker_errors(engine: sa.Engine, since_ms: int) -> dict[str, int]:
    """Error lines the workers logged at or after ``since_ms``, by version."""
    counts: dict[str, int] = {}
    for row in read_states(engine, WORKER_ERRORS).values():
        version = str(row.get("version", ""))
        found = sum(1 for at in row.get("at") or [] if int(at) >= since_ms)
        counts[version] = counts.get(version, 0) + found
    return counts


def _count_since(engine: sa.Engine, prefix: str, version: str, since_ms: int) -> int:
    rows = read_states(engine, prefix).values()
    return sum(
        1
        for row in rows
        if row.get("version") == version
        for at in row.get("at") or []
        if int(at) >= since_ms
    )


__all__ = [
    "CONTROLS",
    "DEPLOY",
    "TAKE_FAILURES",
    "WORKER_ERRORS",
    "read_state",
    "read_states",
    "record_take_failure",
    "record_worker_errors",
    "take_failures",
    "worker_errors",
    "write_state",
]
