"""API hardening: body limit (also for chunked bodies), security headers, CORS off by default;
and on the real app: the limit and headers are installed and admin actions are audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from rampart.api import hardening
from rampart.config import ApiConfig
from rampart.store.audit import AuditLog
from tests.api.conftest import LiveApi


def _app(**api: Any) -> TestClient:
    app = FastAPI(docs_url="/docs")

    @app.post("/api/v1/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    hardening.install(app, ApiConfig(**api))
    return TestClient(app)


def test_a_body_over_the_limit_is_refused_with_413() -> None:
    client = _app(max_body_bytes=1000)
    assert client.post("/api/v1/echo", content=b"x" * 1000).json() == {"size": 1000}
    refused = client.post("/api/v1/echo", content=b"x" * 1001)
    assert refused.status_code == 413
    assert refused.json() == {"error": "The request body is larger than 1000 bytes."}


def test_a_chunked_body_without_length_is_cut_off_at_the_limit() -> None:
    client = _app(max_body_bytes=1000)

    def chunks() -> Iterator[bytes]:
        for _ in range(50):
            yield b"y" * 100

    refused = client.post("/api/v1/echo", content=chunks())
    assert refused.status_code == 413
    assert refused.json()["error"].startswith("The request body is larger than")

    def small() -> Iterator[bytes]:
        yield b"z" * 300
        yield b"z" * 300

    assert client.post("/api/v1/echo", content=small()).json() == {"size": 600}


def test_a_content_length_that_is_not_a_number_is_refused() -> None:
    client = _app()
    bad = client.post("/api/v1/echo", content=b"{}", headers={"content-length": "lots"})
    assert bad.status_code == 400


def test_security_headers_everywhere_and_no_store_on_the_api() -> None:
    client = _app()
    api = client.post("/api/v1/echo", content=b"{}")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["referrer-policy"] == "no-referrer"
    assert api.headers["cache-control"] == "no-store"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    health = client.get("/health")
    assert health.headers["x-frame-options"] == "DENY"
    assert "cache-control" not in health.headers
    docs = client.get("/docs")
    assert docs.status_code == 200
    # The docs pages' assets are served by Rampart (api/docs.py): no other origin is allowed.
    assert docs.headers["content-security-policy"] == hardening.DOCS_CSP
    assert "http" not in hardening.DOCS_CSP
    assert client.post("/api/v1/echo", content=b"x" * 70_000).headers["x-frame-options"] == "DENY"


def test_cors_is_off_by_default() -> None:
    client = _app()
    origin = {"Origin": "https://evil.example"}
    got = client.post("/api/v1/echo", content=b"{}", headers=origin)
    assert "access-control-allow-origin" not in got.headers
    preflight = client.options(
        "/api/v1/echo", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_allows_only_the_configured_origins() -> None:
    client = _app(cors_origins=["https://ops.example"])
    ok = client.post("/api/v1/echo", content=b"{}", headers={"Origin": "https://ops.example"})
    assert ok.headers["access-control-allow-origin"] == "https://ops.example"
    other = client.post("/api/v1/echo", content=b"{}", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApi]:
    api = LiveApi(tmp_path)
    try:
        yield api.start(warm=60)
    finally:
        api.stop()


def test_the_real_api_is_hardened_and_audits_admin_actions(live: LiveApi) -> None:
    too_big = live.client.post(
        "/api/v1/admin/kill-switch",
        content=b"{" + b" " * 70_000 + b"}",
        headers={**live.headers("admin"), "content-type": "application/json"},
    )
    assert too_big.status_code == 413
    assert not live.engine.controls.global_kill  # refused before anything happened

    engaged = live.post("/api/v1/admin/kill-switch", {"reason": "drill"})
    assert engaged.status_code == 200, engaged.text
    assert engaged.headers["cache-control"] == "no-store"
    assert engaged.headers["x-content-type-options"] == "nosniff"
    released = live.post("/api/v1/admin/kill-switch/release", {"reason": "drill over"})
    assert released.status_code == 200, released.text
    live.call(live.session.checkpoint)  # the writer's batch carries the KillSwitchChanged rows

    log = AuditLog(live.session.db)
    actions = [(e.action, e.target) for e in log.tail(500) if not e.action.startswith("order")]
    assert ("operator.kill", "global") in actions
    assert ("operator.unkill", "global") in actions
    assert ("kill_switch.engaged", "global") in actions
    assert ("kill_switch.released", "global") in actions
    [kill] = [e for e in log.tail(500) if e.action == "operator.kill"]
    assert kill.actor == "api:ops"  # the admin token's name
    assert kill.detail == {"reason": "drill", "flatten": False, "facade_seq": 1}
    assert log.verify().ok


def test_a_chunked_body_over_the_limit_gets_413_from_the_served_api(live: LiveApi) -> None:
    # A real client streaming 1 MB without Content-Length (Transfer-Encoding: chunked) to the
    # real app: FastAPI used to turn the cut-off into its own 400.
    sent = 0

    def megabyte() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(16):
            sent += 65_536
            yield b" " * 65_536

    headers = {**live.headers("admin"), "content-type": "application/json"}
    refused = live.client.post("/api/v1/admin/kill-switch", content=megabyte(), headers=headers)
    assert refused.status_code == 413, refused.text
    assert refused.json() == {"error": "The request body is larger than 65536 bytes."}
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert not live.engine.controls.global_kill  # refused before anything happened
    # The same connection keeps working: the rest of the body was read and dropped.
    assert sent == 16 * 65_536
    engaged = live.post("/api/v1/admin/kill-switch", {"reason": "after the big body"})
    assert engaged.status_code == 200, engaged.text
