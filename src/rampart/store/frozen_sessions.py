"""Ending a frozen worker's transaction that holds a shard's lease row.

A worker's write checks its fencing token under a shared lock on its shard's row, so a
takeover waits for the write to commit or sees it refused. A worker frozen in the middle of
that write (a SIGSTOP, a stalled machine) keeps the lock: the server's
``idle_in_transaction_session_timeout`` ends it only when it is idle between statements, not
while a statement (a COPY waiting for the rest of its rows) is under way. The shards it held
then stayed unheld until it woke, 40 s in the chaos runs.

So a taker that finds the row locked by a holder whose lease has run out ends that holder's
transactions that began before the lease ran out: by the lease they cannot commit anyway
(the fence would refuse them), and a process started later under the same name is not
touched. Each worker names its sessions (``application_name``) after itself for this.
"""

from __future__ import annotations

import sqlalchemy as sa
import structlog
from sqlalchemy import exc

log = structlog.get_logger("rampart.store.leases")

LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a statement that gave up waiting for a lock (``lock_timeout``)."""


def session_name(worker: str) -> str:
    """The ``application_name`` of a worker's database sessions (PostgreSQL keeps 63 bytes)."""
    return f"rampart-worker:{worker}"[:63]


def lock_timed_out(err: BaseException | None) -> bool:
    orig = getattr(err, "orig", None)
    return getattr(orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def end_frozen(engine: sa.Engine, holder: str, expired_ms: int) -> int:
    """End ``holder``'s sessions whose transaction began before its lease ran out at
    ``expired_ms`` (UTC ms); how many were ended. Nothing on SQLite (it has no such sessions)."""
    if engine.dialect.name != "postgresql":
        return 0
    stmt = sa.text(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = :app AND pid <> pg_backend_pid() "
        "AND xact_start < to_timestamp(:expired / 1000.0)"
    )
    try:
        with engine.begin() as conn:
            ended = int(conn.execute(stmt, {"app": session_name(holder), "expired": expired_ms})
                        .scalar() or 0)  # fmt: skip
    except exc.SQLAlchemyError as err:  # not allowed, or the server away: the round retries
        log.warning("frozen_session_not_ended", holder=holder, error=type(err).__name__)
        return 0
    if ended:
        log.warning("frozen_session_ended", holder=holder, sessions=ended)
    return ended


__all__ = ["LOCK_NOT_AVAILABLE", "end_frozen", "lock_timed_out", "session_name"]
