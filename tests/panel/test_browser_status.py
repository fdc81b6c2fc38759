"""The public status page (``GET /status``): no token, no account data, component health and
the open incidents with their ETAs; HTML in a real browser (offline, accessible at phone width)
and the same as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rampart.clock import ms_to_datetime
from rampart.observability import incidents as store
from tests.api.conftest import ACCOUNTS, LiveApi
from tests.panel.conftest import PHONE, Offline, axe_violations, open_context, screenshot

HOUR = 3_600_000


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    api = LiveApi(Path(tmp_path_factory.mktemp("status")))
    try:
        yield api.start(warm=300)
    finally:
        api.stop()


def _incident(api: LiveApi) -> store.IncidentRecord:
    """An open incident whose summary and labels name an account and an order."""
    db = api.session.db
    now = api.clock.now_ms()
    opened = store.open_incident(
        db,
        key="OrdersFailing",
        rule="OrdersFailing",
        severity="P0",
        summary="alice: order rp-alice-0000000007-e refused",
        value=0.0,
        threshold=0.0,
        labels={"account": "alice"},
        now_ms=now,
    )
    return store.set_eta(db, opened.id, now + 2 * HOUR, "ops", now) or opened


def test_status_json_needs_no_token_and_names_no_account(service: LiveApi) -> None:
    got = service.client.get("/status.json")
    assert got.status_code == 200
    body = got.json()
    assert body["status"] == "operational" and body["incidents"] == []
    assert [c["name"] for c in body["components"]] == [
        "API",
        "Database",
        "Exchange connection",
        "Market data",
    ]
    assert body["trading"] == "active"
    # The same page as JSON when a client asks for it.
    assert service.client.get("/status", headers={"accept": "application/json"}).json() == body


def test_the_status_page_in_a_browser_shows_incidents_with_their_eta(
    service: LiveApi, offline: Offline
) -> None:
    incident = _incident(service)
    try:
        page = offline.page()
        page.goto(f"{service.server.url}/status")
        assert page.locator(".headline").inner_text() == "Trading is paused or disrupted"
        item = page.locator(f"[data-incident='{incident.id}']")
        assert "Orders cannot be placed" in item.inner_text()
        eta = f"{ms_to_datetime(service.clock.now_ms() + 2 * HOUR):%Y-%m-%d %H:%M} UTC"
        assert item.locator("[data-figure='eta']").inner_text() == f"Expected fixed: {eta}."
        assert page.locator("[data-component='Database'] td").inner_text() == "operational"
        text = page.locator("body").inner_text()
        for account in ACCOUNTS:
            assert account.id not in text
        assert "rp-" not in text
        assert axe_violations(page) == []
        screenshot(page, "status-1280")
        assert offline.blocked == [] and offline.console_errors == []

        phone = open_context(offline.context.browser, PHONE)
        try:
            small = phone.page()
            small.goto(f"{service.server.url}/status")
            width = small.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], "the page scrolls sideways on a phone"
            screenshot(small, "status-390")
        finally:
            phone.context.close()

        body = service.client.get("/status.json").json()
        assert body["status"] == "major_outage"
        assert body["incidents"] == [
            {
                "id": incident.id,
                "title": "Orders cannot be placed",
                "severity": "P0",
                "status": "investigating",
                "started_at": incident.opened_at,
                "eta_at": service.clock.now_ms() + 2 * HOUR,
            }
        ]
        assert "alice" not in service.client.get("/status.json").text
    finally:
        store.resolve(service.session.db, incident.id, service.clock.now_ms(), "test over")


def test_the_kill_switch_shows_as_trading_paused(service: LiveApi) -> None:
    engaged = service.post("/api/v1/admin/kill-switch", {"reason": "status page test"})
    assert engaged.status_code == 200, engaged.text
    try:
        body = service.client.get("/status.json").json()
        assert (body["trading"], body["status"]) == ("paused", "major_outage")
        html = service.client.get("/status").text
        assert "paused by the operator" in html
    finally:
        service.post("/api/v1/admin/kill-switch/release", {"reason": "test over"})
