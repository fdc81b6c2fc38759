"""Tokens with the database down, on both backends: the kill switch takes an admin token the API
read while the database answered, a wrong token is refused with 401 (never 503), and once the
database is back the snapshot is read again. A token revoked by another process stops working
within ``api.token_refresh_s``; one revoked in this process at once.

The outages are real: SQLite's file is replaced by a directory (nothing can open it);
PostgreSQL is reached through a TCP hop that the test cuts, closing the service's connections
and refusing new ones, as a server that went away would.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rampart.api.auth import INVALID
from rampart.security import tokens
from tests.api.conftest import LiveApi
from tests.tcp_relay import TcpRelay

REFRESH_MS = 5_000


class SqliteGone:
    """The database file disappears and a directory stands in its place."""

    def __init__(self, live: LiveApi) -> None:
        self.live = live

    def start(self) -> None:
        self.live.call(self.live.session.db.dispose)
        self.live.db_path.rename(self.live.db_path.with_suffix(".gone"))
        self.live.db_path.mkdir()

    def stop(self) -> None:
        self.live.db_path.rmdir()
        self.live.db_path.with_suffix(".gone").rename(self.live.db_path)
        self.live.call(self.live.session.db.dispose)


class PgHop(TcpRelay):
    """127.0.0.1:port → the PostgreSQL server; :meth:`start` cuts every connection and refuses
    new ones until :meth:`stop`."""

    def start(self) -> None:
        self.cut()

    def stop(self) -> None:
        self.restore()


def _live(tmp_path: Path, store_url: str | None = None) -> LiveApi:
    live = LiveApi(tmp_path, api={"token_refresh_s": REFRESH_MS / 1000})
    if store_url is not None:
        store = live.settings.store.model_copy(update={"url": store_url})
        live.settings = live.settings.model_copy(update={"store": store})
    return live


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveApi, object]]:
    if request.param == "sqlite":
        live = _live(tmp_path)
        try:
            live.start(warm=10)
            yield live, SqliteGone(live)
        finally:
            live.stop()
        return
    base = os.environ.get("RAMPART_TEST_PG_URL")
    if not base:
        pytest.skip("RAMPART_TEST_PG_URL is not set")
    name = f"rampart_auth_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    parsed = make_url(base)
    hop = PgHop(parsed.host or "127.0.0.1", parsed.port or 5432)
    url = parsed.set(host="127.0.0.1", port=hop.port, database=name)
    live = _live(tmp_path, url.render_as_string(hide_password=False))
    try:
        live.start(warm=10)
        yield live, hop
    finally:
        try:
            live.stop()
        finally:
            hop.start()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _eventually(check: Callable[[], bool], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _wrong() -> str:
    return "rp_" + secrets.token_urlsafe(32)


def test_the_kill_switch_takes_a_known_admin_token_with_the_database_down(
    service: tuple[LiveApi, SqliteGone | PgHop],
) -> None:
    live, outage = service
    auth = live.ctx.auth
    # Made while the database answers and never used: the server's heartbeat re-reads the
    # tokens once the refresh is due on the ops clock (a beat is about a second of real time).
    spare = tokens.create_token(live.session.db, "admin", None, "spare", live.ops.now_ms())
    assert not live.call(lambda: auth.knows(spare))
    live.ops.advance(REFRESH_MS)
    assert _eventually(lambda: live.call(lambda: auth.knows(spare)), within_s=15)

    outage.start()
    try:
        live.ops.advance(REFRESH_MS)  # a refresh is due, and fails: the snapshot stays
        kill = live.post("/api/v1/admin/kill-switch", {"reason": "database down"}, who=spare)
        assert kill.status_code == 200, kill.text
        assert kill.json()["engaged"] is True
        assert live.engine.controls.global_kill
        assert not auth.database_ok

        wrong = live.post("/api/v1/admin/kill-switch", {"reason": "guess"}, who=_wrong())
        assert wrong.status_code == 401, wrong.text
        assert wrong.json() == {"error": INVALID}

        live.ops.advance(3 * REFRESH_MS)  # still down a while later: still the same answers
        release = live.post("/api/v1/admin/kill-switch/release", {"reason": "drill over"})
        assert release.status_code == 200, release.text
        assert (
            live.post("/api/v1/admin/kill-switch", {"reason": "guess"}, who=_wrong()).status_code
            == 401
        )
    finally:
        outage.stop()

    live.ops.advance(REFRESH_MS)
    assert live.get("/api/v1/admin/accounts", who=spare).status_code == 200
    assert auth.database_ok


def test_a_revoked_token_stops_working_within_the_refresh_bound(
    service: tuple[LiveApi, SqliteGone | PgHop],
) -> None:
    live, _ = service
    db = live.session.db
    path = "/api/v1/admin/accounts"
    token = tokens.create_token(db, "admin", None, "temp", live.ops.now_ms())
    assert live.get(path, who=token).status_code == 200
    info = tokens.verify(db, token)
    assert info is not None
    # As `rampart token revoke` does, from another process.
    tokens.revoke(db, str(info.id), live.ops.now_ms())
    live.ops.advance(REFRESH_MS - 1)
    assert live.get(path, who=token).status_code == 200  # inside the stated bound
    live.ops.advance(1)
    refused = live.get(path, who=token)
    assert refused.status_code == 401
    assert refused.json() == {"error": INVALID}

    # Revoked in this process: refused at once, with no time passing.
    other = tokens.create_token(db, "admin", None, "other", live.ops.now_ms())
    assert live.get(path, who=other).status_code == 200
    found = tokens.verify(db, other)
    assert found is not None
    tokens.revoke(db, str(found.id), live.ops.now_ms())
    live.call(lambda: live.ctx.auth.forget(found.id))
    assert live.get(path, who=other).status_code == 401
    assert live.get(path).status_code == 200  # the others are unaffected
