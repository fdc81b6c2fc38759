"""Acting from the panel in a real browser, each on a service of its own: every action is a
button, a confirm step and the operator layer's answer in a status line; the tests check the
engine (or the API) took it, not just the page."""

from __future__ import annotations

from typing import Any

from rampart.observability import incidents
from tests.api.conftest import LiveApi
from tests.panel.conftest import Offline, sign_in

ADMIN = "/api/v1/admin"
STAGES = [
    {"name": "internal", "users": ["alice"], "symbols": ["BTC/USDT"], "min_duration_h": 24},
    {"name": "limited", "users": ["alice", "bob"], "min_duration_h": 48},
    {"name": "open"},
]


def act(page: Any, button: str, reason: str | None = None, scope: Any = None) -> str:
    """Press an action's button, confirm it (with a reason where it takes one) and return the
    status sentence the page shows after."""
    (scope or page).get_by_role("button", name=button).click()
    confirm = page.get_by_role("button", name="Confirm")
    confirm.wait_for()
    if reason is not None:
        page.locator('[name="reason"]').fill(reason)
    confirm.click()
    status = page.get_by_role("status").first
    status.wait_for()
    text: str = status.inner_text().strip()
    return text


def test_kill_switch_engaged_from_the_page_stops_entries_then_released(
    live: LiveApi, offline: Offline
) -> None:
    base = live.server.url
    page = sign_in(offline, base, live.tokens["admin"])
    said = act(page, "Engage kill switch", "panel drill")
    assert "engaged" in said.lower(), said
    assert page.url == f"{base}/panel"
    assert live.engine.controls.global_kill is True
    assert live.engine.controls.global_reason == "panel drill"
    assert live.get(f"{ADMIN}/accounts").json()["kill_switch"]["engaged"] is True
    assert page.locator('[data-figure="kill-switch"]').first.inner_text() == "engaged"

    # The engine refuses entries while it is engaged.
    seq_before = live.seqs()
    live.trade(300)
    assert live.entries_after(seq_before) == [], "no entry after the kill switch"
    codes = {
        r["code"]
        for a in ("alice", "bob", "carol")
        for r in live.get(f"/api/v1/accounts/{a}/rejections").json()["rejections"]
    }
    assert "kill_switch" in codes

    page.reload()
    said = act(page, "Release kill switch", "drill over")
    assert "released" in said.lower(), said
    assert live.engine.controls.global_kill is False
    assert page.get_by_role("button", name="Engage kill switch").count() == 1


def test_pause_and_resume_an_account_from_its_page(live: LiveApi, offline: Offline) -> None:
    base = live.server.url
    page = sign_in(offline, base, live.tokens["admin"])
    page.goto(f"{base}/panel/accounts/alice")
    said = act(page, "Pause account", "investor asked")
    assert "alice" in said and "paused" in said.lower(), said
    found = {a["account_id"]: a for a in live.get(f"{ADMIN}/accounts").json()["accounts"]}
    assert found["alice"]["paused"] is True and found["bob"]["paused"] is False
    assert live.engine.accounts["alice"].paused is True

    said = act(page, "Resume account", "investor agreed")
    assert "alice" in said, said
    found = {a["account_id"]: a for a in live.get(f"{ADMIN}/accounts").json()["accounts"]}
    assert found["alice"]["paused"] is False


def test_ack_an_incident_from_the_overview(live: LiveApi, offline: Offline) -> None:
    base = live.server.url
    record = incidents.open_incident(
        live.session.db,
        key="feed_stale",
        rule="feed_stale",
        severity="critical",
        summary="feed_stale fired",
        value=1.0,
        threshold=0.5,
        labels={"component": "feed"},
        now_ms=live.ops.now_ms(),
    )
    page = sign_in(offline, base, live.tokens["admin"])
    assert page.locator('[data-figure="incidents-open"]').first.inner_text() == "1"
    row = page.locator(f'tr[data-incident="{record.id}"]')
    said = act(page, "Acknowledge", scope=row)
    assert f"Incident {record.id}" in said and "acknowledged" in said, said
    listed = live.get(f"{ADMIN}/incidents").json()["incidents"]
    (mine,) = [i for i in listed if i["id"] == record.id]
    assert mine["status"] == "acknowledged"
    assert mine["acknowledged_by"] == "panel:ops"
    assert page.locator('[data-figure="incidents-open"]').first.inner_text() == "0"
