"""Speaking to the panel as a browser does, over plain HTTP: sign in through the form (the
cookie is kept by the client), read the figures a page shows, and act as a person does (open
the confirm page, post its form with the session's csrf)."""

from __future__ import annotations

import html
import re

import httpx

from rampart.api.panel.sessions import SessionStore
from tests.api.conftest import LiveApi

ADMIN = "/api/v1/admin"
FIGURE = re.compile(r'data-figure="([^"]+)"[^>]*>([^<]*)<')


def browser(api: LiveApi) -> httpx.Client:
    return httpx.Client(base_url=api.server.url, timeout=30)


def sign_in(api: LiveApi, who: str = "admin") -> httpx.Client:
    client = browser(api)
    r = client.post("/panel/login", data={"token": api.tokens[who]})
    assert r.status_code == 303 and r.headers["location"] == "/panel", r.text
    return client


def session_store(api: LiveApi) -> SessionStore:
    store: SessionStore = api.server.app.state.panel_sessions
    return store


def figures(page: str) -> dict[str, str]:
    return dict(FIGURE.findall(page))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "every signed-in page has the sign-out form with its csrf"
    return found.group(1)


def statuses(page: str) -> list[str]:
    return [html.unescape(s) for s in re.findall(r'<p role="status"[^>]*>([^<]*)</p>', page)]


def act(client: httpx.Client, name: str, **fields: str) -> httpx.Response:
    """What a person does: open the confirm page, then post its form (with its csrf)."""
    target = fields.get("target", "")
    page = client.get(f"/panel/act/{name}", params={"target": target} if target else None)
    assert page.status_code == 200, page.text
    assert ">Confirm</button>" in page.text
    return client.post(f"/panel/act/{name}", data={"csrf": csrf_of(page.text), **fields})
