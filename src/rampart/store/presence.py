"""Which lease holders have no database session left: a process killed.

A lease says a worker is alive until it runs out, 6 s after its last renewal by default. A
worker killed with kill -9 stops renewing at once, but its shards waited out the rest of the
lease before anyone took them: 5-8 s of the 10 s a fleet has to trade a killed worker's
accounts again, and more on a CPU-starved machine.

The database knows sooner. Every worker names its sessions after itself
(:func:`~rampart.store.frozen_sessions.session_name`), and a killed process's sockets are
closed by its kernel, so the server ends its sessions within moments. A holder with a live
lease and not one session left is gone: its shards can be taken now. A stopped process
(SIGSTOP, a stalled machine) keeps its sessions open and waits out its lease as before.

Taking early never risks money: a holder wrongly thought gone still has its fencing token
checked in every write, and its valid() turns false once its renewal finds the shard taken.
What it could cost is a needless takeover, so nothing is judged gone while the server itself
was started less than a lease ago (after a restart of PostgreSQL every worker's sessions are
new, and some have not come back yet).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
import structlog
from sqlalchemy import exc

from rampart.store.frozen_sessions import session_name

log = structlog.get_logger("rampart.store.leases")


def gone_holders(engine: sa.Engine, holders: Collection[str], settled_ms: int) -> set[str]:
    """Of ``holders`` (worker names), those with no session on the server; none on SQLite, none
    while the server has been up less than ``settled_ms``, and none when the server cannot
    say (the lease's end then decides, as without this)."""
    if engine.dialect.name != "postgresql" or not holders:
        return set()
    names = {session_name(h): h for h in holders}
    query = sa.text(
        "SELECT a.name, (SELECT count(*) FROM pg_stat_activity s WHERE s.application_name = "
        "a.name), extract(epoch FROM now() - pg_postmaster_start_time()) * 1000 "
        "FROM unnest(CAST(:names AS text[])) AS a(name)"
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query, {"names": sorted(names)}).all()
    except exc.SQLAlchemyError as err:  # the server away: the round's own reads fail too
        log.warning("presence_unread", error=type(err).__name__)
        return set()
    gone = {names[str(r[0])] for r in rows if int(str(r[1])) == 0}
    if not rows or float(str(rows[0][2])) < settled_ms:
        return set()
    return gone


__all__ = ["gone_holders"]
