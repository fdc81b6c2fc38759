"""Liveness, readiness (flipping to 503 when the database or the feed goes away) and metrics,
over a real uvicorn on loopback; and the readiness probes on their own."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import sqlalchemy as sa

from rampart.domain.errors import VenueError
from rampart.runtime import probes
from tests.api.conftest import FEED_MAX_AGE_S, LiveApi


def _checks(body: dict) -> dict[str, dict]:
    return {c["name"]: c for c in body["checks"]}


def test_liveness_needs_no_token(live: LiveApi) -> None:
    r = live.get("/health", who=None)
    assert r.status_code == 200
    # No supervisor in this app: no components to list (the service test lists them).
    assert r.json() == {"status": "ok", "components": []}


def test_ready_when_database_venue_and_feed_are_fine(live: LiveApi) -> None:
    r = live.get("/health/ready", who=None)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ready"] is True
    assert set(_checks(body)) == {"database", "venue", "feed"}
    assert all(c["ok"] for c in body["checks"])


def _take_database_away(live: LiveApi) -> None:
    # The file disappears and a directory stands in its place: SQLite cannot open it.
    live.call(live.session.db.dispose)
    live.db_path.rename(live.db_path.with_suffix(".gone"))
    live.db_path.mkdir()


def _bring_database_back(live: LiveApi) -> None:
    live.db_path.rmdir()
    live.db_path.with_suffix(".gone").rename(live.db_path)
    live.call(live.session.db.dispose)


def test_readiness_flips_to_503_when_the_database_goes_away_and_back(live: LiveApi) -> None:
    assert live.get("/health/ready", who=None).status_code == 200
    # The admin token has been used, so the API knows it without the database.
    assert live.get("/api/v1/accounts/alice/trades").status_code == 200
    _take_database_away(live)
    try:
        r = live.get("/health/ready", who=None)
        assert r.status_code == 503
        checks = _checks(r.json())
        assert r.json()["ready"] is False
        assert checks["database"]["ok"] is False
        assert "cannot query the database" in checks["database"]["detail"]
        assert checks["feed"]["ok"] and checks["venue"]["ok"]
        # Liveness is not readiness: the process still answers.
        assert live.get("/health", who=None).status_code == 200
        # A read that needs the database says so in words, with 503, not a traceback.
        trades = live.get("/api/v1/accounts/alice/trades")
        assert trades.status_code == 503
        assert "database" in trades.json()["error"]
    finally:
        _bring_database_back(live)
    assert live.get("/health/ready", who=None).status_code == 200


def test_readiness_flips_to_503_when_the_feed_goes_quiet(live: LiveApi) -> None:
    assert live.get("/health/ready", who=None).status_code == 200
    live.ops.advance(FEED_MAX_AGE_S * 1000 - 1000)
    assert live.get("/health/ready", who=None).status_code == 200
    live.ops.advance(2000)
    r = live.get("/health/ready", who=None)
    assert r.status_code == 503
    feed = _checks(r.json())["feed"]
    assert feed["ok"] is False
    assert "no new candle for BTC/USDT" in feed["detail"]
    # Candles arrive again: ready again.
    live.trade(2, checkpoint=False)
    assert live.get("/health/ready", who=None).status_code == 200


def test_readiness_flips_when_the_engine_marks_a_symbol_stale(live: LiveApi) -> None:
    live.call(lambda: live.engine.stale_symbols.add("ETH/USDT"))
    r = live.get("/health/ready", who=None)
    assert r.status_code == 503
    assert "ETH/USDT is marked stale" in _checks(r.json())["feed"]["detail"]
    live.call(lambda: live.engine.stale_symbols.discard("ETH/USDT"))
    assert live.get("/health/ready", who=None).status_code == 200


def test_metrics_are_prometheus_text(live: LiveApi) -> None:
    r = live.get("/metrics", who=None)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "rampart_orders_total" in r.text
    assert "# TYPE" in r.text


def test_openapi_document_and_docs_are_served(live: LiveApi) -> None:
    doc = live.get("/openapi.json", who=None).json()
    paths = set(doc["paths"])
    for path in (
        "/health",
        "/health/ready",
        "/metrics",
        "/api/v1/accounts/{account_id}/portfolio",
        "/api/v1/admin/kill-switch",
        "/api/v1/admin/engines/start",
        "/api/v1/admin/incidents/{incident_id}/ack",
    ):
        assert path in paths
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert live.get("/docs", who=None).status_code == 200


def test_unknown_path_and_method_are_json_sentences(live: LiveApi) -> None:
    r = live.get("/nowhere", who=None)
    assert r.status_code == 404
    assert "/docs" in r.json()["error"]
    r = live.client.delete("/health")
    assert r.status_code == 405
    assert r.json() == {"error": "DELETE is not allowed on /health."}


# -- the probes on their own ------------------------------------------------------------------


def test_database_probe_on_both_backends(db_url: str) -> None:
    from rampart.store.db import open_database

    db = open_database(db_url)
    try:
        check = asyncio.run(probes.database_probe(db)())
        assert check.ok and check.name == "database"
    finally:
        db.dispose()
    dead = sa.create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    check = asyncio.run(probes.database_probe(dead)())
    assert not check.ok
    assert check.detail.startswith("cannot query the database:")
    assert asyncio.run(probes.database_probe(lambda: None)()).detail == "the database is not open"


def test_venue_probe_reports_a_venue_that_does_not_answer() -> None:
    class Remote:
        name = "binance"

        async def ping(self) -> None:
            raise VenueError("Binance did not answer within 10 s.", code="timeout")

    check = asyncio.run(probes.venue_probe(Remote())())
    assert not check.ok
    assert check.detail == "binance does not answer: Binance did not answer within 10 s."
    paper = SimpleNamespace(name="paper")
    assert asyncio.run(probes.venue_probe(paper)()).ok


def test_workers_probe_names_the_workers_that_are_down() -> None:
    status = {
        "engine": SimpleNamespace(up=True, state="running"),
        "alerts": SimpleNamespace(up=False, state="backoff"),
    }
    check = asyncio.run(probes.workers_probe(lambda: status)())
    assert not check.ok
    assert check.detail == "down: alerts (backoff)"
    assert asyncio.run(probes.workers_probe(lambda: {"engine": True})()).ok
    assert not asyncio.run(probes.workers_probe(dict)()).ok


def test_feed_probe_without_any_candle_is_not_ready() -> None:
    from rampart.clock import SimClock

    engine = SimpleNamespace(stale_symbols=set(), data_ts={}, symbols=lambda: ["BTC/USDT"])
    check = asyncio.run(probes.feed_probe(engine, SimClock(0), 60)())
    assert not check.ok
    assert check.detail == "no candle for BTC/USDT yet"


def test_no_secret_on_the_unauthenticated_health_pages(live: LiveApi) -> None:
    """Once, a refused bot token (or a wrong telegram.api_url carrying it) was masked in
    the log but shown in clear on /health and /health/ready, which need no login."""
    from rampart.runtime.health import Check, ComponentLine

    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    url = f"http://user:hunter2secret@127.0.0.1:9/bot{token}/getMe"
    said = f"InvalidToken: the server refused {token} at {url}"
    live.health.components = lambda: [
        ComponentLine("telegram", "failed", False, 3, note=said, last_error=said)
    ]

    async def telegram() -> Check:
        return Check("telegram", False, said, required=False)

    live.health.add("telegram", telegram, required=False)
    for path in ("/health", "/health/ready", "/status", "/status.json"):
        text = live.get(path, who=None).text
        assert token not in text and "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in text, path
        assert "hunter2secret" not in text, path
    (line,) = live.get("/health", who=None).json()["components"]
    assert line["last_error"].startswith("InvalidToken: the server refused ***")
