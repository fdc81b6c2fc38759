"""What a signed-in person is offered and how long they stay signed in: the navigation names only
pages the token may open, and a session outlives a service restart (it is stored) but not its
token (a revoked token still ends it)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import sqlalchemy as sa

from rampart.api.panel.sessions import COOKIE, SessionStore
from rampart.clock import SimClock
from rampart.operator.records import PanelSessionRecords
from rampart.security.tokens import create_token, revoke
from tests.api.conftest import LiveApi
from tests.panel.panel_http import browser, csrf_of, sign_in

NAV = re.compile(r'<nav aria-label="Panel">(.*?)</nav>', re.S)
EVERY_PAGE = [
    "/panel",
    "/panel/accounts",
    "/panel/trades",
    "/panel/trading",
    "/panel/launch",
    "/panel/reports",
    "/panel/revenue",
    "/panel/people",
    "/panel/operations",
]


def nav_links(page: str) -> list[str]:
    found = NAV.search(page)
    assert found is not None, "a signed-in page has the panel's navigation"
    return re.findall(r'href="([^"]+)"', found.group(1))


@pytest.mark.parametrize("who", ["admin", "read", "alice"])
def test_the_navigation_names_only_pages_the_token_may_open(shared: LiveApi, who: str) -> None:
    if who == "read" and "read" not in shared.tokens:
        shared.tokens["read"] = create_token(shared.session.db, "read", None, "viewer", 0)
    client = sign_in(shared, who)
    links = nav_links(client.get("/panel").text)
    refused = {href: client.get(href).status_code for href in links}
    assert {k: v for k, v in refused.items() if v != 200} == {}, (who, refused)
    if who == "alice":
        assert "/panel/accounts/alice" in links or "/panel/accounts" in links
        assert not set(links) & {
            "/panel/trading",
            "/panel/launch",
            "/panel/people",
            "/panel/operations",
        }
    else:
        assert links == EVERY_PAGE


def test_a_session_survives_a_restart_and_still_ends_with_its_token(tmp_path: Path) -> None:
    first = LiveApi(tmp_path).start(warm=10)
    try:
        admin, alice, gone = sign_in(first), sign_in(first, "alice"), sign_in(first)
        admin_csrf = csrf_of(admin.get("/panel").text)
        sids = {
            name: client.cookies[COOKIE]
            for name, client in (("admin", admin), ("alice", alice), ("gone", gone))
        }
        r = gone.post("/panel/logout", data={"csrf": csrf_of(gone.get("/panel").text)})
        assert r.status_code == 303
        tokens = dict(first.tokens)
    finally:
        first.stop()

    # Neither the token nor the cookie's session id is written down in clear.
    stored = first.db_path.read_bytes()
    for secret in (tokens["admin"], tokens["alice"], *sids.values()):
        assert secret.encode() not in stored

    second = LiveApi(tmp_path).start(warm=0)
    try:

        def client(name: str) -> httpx.Client:
            made = browser(second)
            made.cookies.set(COOKIE, sids[name])
            return made

        again = client("admin")
        page = again.get("/panel")
        assert page.status_code == 200, "the restart signed the operator out"
        assert csrf_of(page.text) == admin_csrf, "a form opened before the restart still posts"
        r = client("gone").get("/panel")
        assert (r.status_code, r.headers["location"]) == (303, "/panel/login"), "signed out"
        mine = client("alice")
        assert mine.get("/panel/accounts/alice").status_code == 200

        # `rampart token revoke` in another process: the stored session ends with its token
        # once the service re-reads the tokens (api.token_refresh_s).
        revoke(second.session.db, tokens["alice"][:10], second.ops.now_ms())
        second.call(lambda: second.ops.advance(int(second.settings.api.token_refresh_s * 1000) + 1))
        r = mine.get("/panel/accounts/alice")
        assert (r.status_code, r.headers["location"]) == (303, "/panel/login")
        assert again.get("/panel").status_code == 200
    finally:
        second.stop()


def test_a_stored_session_still_expires(tmp_path: Path) -> None:
    api = LiveApi(tmp_path).start(warm=0)
    try:
        client = sign_in(api)
        assert client.get("/panel").status_code == 200
        api.call(lambda: api.ops.advance(8 * 3600 * 1000 + 1))
        assert client.get("/panel").status_code == 303
        with sqlite3.connect(api.db_path) as db:
            tables = {r[0] for r in db.execute("select name from sqlite_master")}
        assert "panel_sessions" in tables
    finally:
        api.stop()


def test_sessions_keep_working_while_the_database_is_away() -> None:
    """A database that fails (here: one without the table) neither refuses a sign-in nor ends a
    session this process holds: the kill switch must stay reachable."""
    clock = SimClock(1_700_000_000_000)
    broken = sa.create_engine("sqlite://")
    records = PanelSessionRecords(SimpleNamespace(db=broken))
    store = SessionStore(clock, 3600, records=records, recheck_s=5)

    async def run() -> None:
        made = await store.create(7, "ops", "admin", None)
        clock.advance(60_000)  # past the recheck: the read fails, the session stands
        found = await store.get(made.id)
        assert found is made
        await store.end(made.id)
        assert await store.get(made.id) is None

    asyncio.run(run())
    broken.dispose()
