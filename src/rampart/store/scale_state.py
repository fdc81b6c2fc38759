"""What every worker applies whichever shards it holds (issue 34): one JSON document per key
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


__all__ = ["CONTROLS", "DEPLOY", "read_state", "read_states", "write_state"]
