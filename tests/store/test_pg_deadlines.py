"""Every PostgreSQL connection has deadlines: a statement timeout on the
server, TCP keepalives and a user timeout on the socket, a pre-ping from the pool. A worker's
read on a connection whose peer had gone silent waited 27 minutes without them. What the URL
sets itself (the tests' search_path) is kept."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.db import open_database


def test_every_connection_carries_its_deadlines(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        assert db.pool._pre_ping  # type: ignore[attr-defined]
        with db.connect() as conn:
            timeout = conn.execute(sa.text("SHOW statement_timeout")).scalar()
            path = conn.execute(sa.text("SHOW search_path")).scalar()
            dsn = conn.connection.dbapi_connection.info.dsn  # type: ignore[union-attr]
        assert timeout == "1min"
        assert str(path).startswith("t_")  # the URL's own options kept
        for setting in ("keepalives=1", "keepalives_idle=10", "tcp_user_timeout=30000"):
            assert setting in dsn
    finally:
        db.dispose()
