"""Authentication and authorization over a real server: 401 without a valid token, 403 for the
wrong scope or another investor's account, 429 past the per-token rate."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from rampart.security import tokens
from tests.api.conftest import LiveApi

INVESTOR = ["portfolio", "positions", "orders", "trades", "equity", "rejections"]
ADMIN_GETS = [
    "/api/v1/admin/accounts",
    "/api/v1/admin/incidents",
    "/api/v1/admin/alerts/rules",
    "/api/v1/admin/config",
]
ADMIN_POSTS = [
    ("/api/v1/admin/kill-switch", {"reason": "test"}),
    ("/api/v1/admin/kill-switch/release", {"reason": "test"}),
    ("/api/v1/admin/accounts/alice/pause", {"reason": "test"}),
    ("/api/v1/admin/accounts/alice/resume", {"reason": "test"}),
    ("/api/v1/admin/engines/start", {"symbol": "BTC/USDT", "mode": "paper", "capital": "100"}),
    ("/api/v1/admin/engines/alice/stop", None),
    ("/api/v1/admin/incidents/1/ack", None),
]


def _everything() -> list[tuple[str, str, object]]:
    calls: list[tuple[str, str, object]] = [
        ("GET", f"/api/v1/accounts/alice/{what}", None) for what in INVESTOR
    ]
    calls += [("GET", path, None) for path in ADMIN_GETS]
    calls += [("POST", path, body) for path, body in ADMIN_POSTS]
    return calls


def _send(api: LiveApi, method: str, path: str, body: object, who: str | None, **kw: object):
    if method == "GET":
        return api.get(path, who=who, **kw)
    return api.post(path, body, who=who, **kw)


@pytest.mark.parametrize(("method", "path", "body"), _everything())
def test_no_token_is_401_with_a_bearer_challenge(
    shared: LiveApi, method: str, path: str, body: object
) -> None:
    r = _send(shared, method, path, body, who=None)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"error": "Send an API token as 'Authorization: Bearer <token>'."}


@pytest.mark.parametrize(
    "header",
    [
        "Bearer rp_not-a-real-token",
        "Bearer",
        "Basic YWRtaW46YWRtaW4=",
        "rp_missing-scheme",
        "Bearer " + "x" * 5000,
    ],
)
def test_a_token_that_is_not_valid_is_401(shared: LiveApi, header: str) -> None:
    r = shared.client.get("/api/v1/accounts/alice/portfolio", headers={"Authorization": header})
    assert r.status_code == 401
    assert "error" in r.json()


@pytest.mark.parametrize(("method", "path", "body"), [c for c in _everything() if "admin" in c[1]])
def test_a_user_token_cannot_use_operator_endpoints(
    shared: LiveApi, method: str, path: str, body: object
) -> None:
    r = _send(shared, method, path, body, who="alice")
    assert r.status_code == 403
    assert r.json() == {"error": "This needs an admin token."}


@pytest.mark.parametrize("what", INVESTOR)
def test_an_investor_cannot_read_another_investors_account(shared: LiveApi, what: str) -> None:
    r = shared.get(f"/api/v1/accounts/bob/{what}", who="alice")
    assert r.status_code == 403
    assert r.json() == {"error": "This token may only read account alice."}
    # Nor can it learn whether an account exists.
    assert shared.get(f"/api/v1/accounts/zed/{what}", who="alice").status_code == 403


@pytest.mark.parametrize("what", INVESTOR)
def test_an_investor_reads_its_own_account_and_an_admin_reads_any(
    shared: LiveApi, what: str
) -> None:
    assert shared.get(f"/api/v1/accounts/alice/{what}", who="alice").status_code == 200
    assert shared.get(f"/api/v1/accounts/bob/{what}", who="bob").status_code == 200
    assert shared.get(f"/api/v1/accounts/bob/{what}", who="admin").status_code == 200
    r = shared.get(f"/api/v1/accounts/zed/{what}", who="admin")
    assert r.status_code == 404
    assert r.json() == {"error": "There is no account called 'zed'."}


def test_a_revoked_token_stops_working_within_the_cache_bound(live: LiveApi) -> None:
    path = "/api/v1/accounts/alice/portfolio"
    assert live.get(path, who="alice").status_code == 200
    info = tokens.verify(live.session.db, live.tokens["alice"])
    assert info is not None
    tokens.revoke(live.session.db, str(info.id), live.ops.now_ms())
    live.ops.advance(6_000)
    r = live.get(path, who="alice")
    assert r.status_code == 401
    assert r.json() == {"error": "This token is not valid: it is unknown or revoked."}


def test_the_rate_limit_is_per_token_with_retry_after(
    make_live: Callable[..., LiveApi],
) -> None:
    api = make_live(warm=10, rate_per_minute=5)
    path = "/api/v1/accounts/alice/portfolio"
    for _ in range(5):
        assert api.get(path, who="alice").status_code == 200
    r = api.get(path, who="alice")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "12"
    assert r.json() == {"error": "Too many requests with this token; try again in 12 s."}
    # Another token has its own allowance; open endpoints have no token to limit.
    assert api.get(path, who="admin").status_code == 200
    assert api.get("/health", who=None).status_code == 200
    # One request's worth refills in 60 s / 5 = 12 s of ops time.
    api.ops.advance(11_000)
    assert api.get(path, who="alice").status_code == 429
    api.ops.advance(1_000)
    assert api.get(path, who="alice").status_code == 200
    assert api.get(path, who="alice").status_code == 429


# -- a read token: the operator's viewing token -------------------------------------------------


def _api_routes(api: LiveApi, methods: set[str]) -> list[tuple[str, str]]:
    """Every API endpoint the schema lists (method, path with its parameters filled in)."""
    found = []
    for path, ops in api.get("/openapi.json", who=None).json()["paths"].items():
        if path.startswith("/api/v1/"):
            filled = re.sub(r"\{[^}]+\}", "1", path)
            found += [(m.upper(), filled) for m in sorted(ops) if m.upper() in methods]
    return found


def test_a_read_token_reads_everything_an_admin_reads(shared: LiveApi) -> None:
    viewer = tokens.create_token(shared.session.db, "read", None, "viewer", 0)
    for path in [*ADMIN_GETS, "/api/v1/admin/overview", "/api/v1/admin/rollout"]:
        r = shared.get(path, who=viewer)
        assert r.status_code == 200, (path, r.text)
        assert r.json().keys() == shared.get(path).json().keys(), path
    for account in ("alice", "bob"):
        for what in INVESTOR:
            r = shared.get(f"/api/v1/accounts/{account}/{what}", who=viewer)
            assert r.status_code == 200, (account, what)
    # Every other GET answers it as it answers an admin (a missing report is 404 for both).
    gets = _api_routes(shared, {"GET"})
    assert len(gets) > len(ADMIN_GETS) + len(INVESTOR)
    for _, path in gets:
        assert shared.get(path, who=viewer).status_code == shared.get(path).status_code, path


def test_a_read_token_cannot_act_and_changes_nothing(shared: LiveApi) -> None:
    viewer = tokens.create_token(shared.session.db, "read", None, "viewer", 0)
    before = shared.get("/api/v1/admin/accounts").json()
    acting = _api_routes(shared, {"POST", "PUT", "PATCH", "DELETE"})
    assert ("POST", "/api/v1/admin/kill-switch") in acting
    for method, path in acting:
        r = shared.client.request(method, path, json={}, headers=shared.headers(viewer))
        assert r.status_code == 403, (method, path, r.text)
        assert r.json() == {"error": "This token can only read."}, path
    for path, body in ADMIN_POSTS:  # with real bodies too: refused before they are read
        r = shared.post(path, body, who=viewer)
        assert (r.status_code, r.json()) == (403, {"error": "This token can only read."}), path
    assert shared.engine.controls.global_kill is False
    assert not shared.engine.accounts["alice"].paused
    assert shared.get("/api/v1/admin/accounts").json() == before
