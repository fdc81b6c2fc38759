"""The operator panel over plain HTTP (no browser): sign-in, the session cookie, CSRF, a read-only
token, every page's figures against the API's JSON, and actions reaching the engine.

The service is the API tests' real one (tests/api/conftest.py: a TradingSession on simulated
time served by uvicorn on 127.0.0.1); the panel is spoken to with a cookie-keeping httpx client.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.domain.money_format import money, pnl, price
from rampart.observability import incidents
from rampart.security.tokens import create_token
from tests.api.conftest import LiveApi
from tests.panel.panel_http import (
    ADMIN,
    act,
    browser,
    csrf_of,
    figures,
    session_store,
    sign_in,
    statuses,
)

# -- signing in ------------------------------------------------------------------------------


def test_root_and_pages_send_a_stranger_to_sign_in(shared: LiveApi) -> None:
    client = browser(shared)
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/panel"
    for path in ("/panel", "/panel/accounts", "/panel/accounts/alice", "/panel/live"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/panel/login", path
    page = client.get("/panel/login")
    assert page.status_code == 200
    assert '<label for="token">API token</label>' in page.text
    assert '<input id="token" name="token" type="password"' in page.text
    assert ">Sign in</button>" in page.text
    assert '<html lang="en">' in page.text


def test_sign_in_sets_a_strict_http_only_session_cookie(shared: LiveApi) -> None:
    client = browser(shared)
    r = client.post("/panel/login", data={"token": shared.tokens["admin"]})
    assert r.status_code == 303 and r.headers["location"] == "/panel"
    cookie = r.headers["set-cookie"]
    sid = re.match(r"rampart_panel=([^;]+);", cookie)
    assert sid is not None, cookie
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict", "max-age=28800"} <= flags
    assert "secure" not in flags, "plain http here: a Secure cookie would never come back"
    assert shared.tokens["admin"] not in cookie and sid.group(1) != shared.tokens["admin"]
    page = client.get("/panel")
    assert page.status_code == 200 and ">Sign out</button>" in page.text


def test_a_wrong_token_is_refused_and_changes_nothing(shared: LiveApi) -> None:
    client = browser(shared)
    sessions = len(session_store(shared))
    r = client.post("/panel/login", data={"token": "rpt_not-a-real-token"})
    assert r.status_code == 401
    assert '<p role="alert" class="alert">That token is not valid.</p>' in r.text
    assert "set-cookie" not in r.headers
    assert len(session_store(shared)) == sessions
    assert client.get("/panel").status_code == 303


def test_the_cookie_is_secure_behind_a_tls_proxy(tmp_path: Path) -> None:
    api = LiveApi(tmp_path, api={"behind_tls_proxy": True})
    try:
        api.start(warm=10)
        r = browser(api).post(
            "/panel/login",
            data={"token": api.tokens["admin"]},
            headers={"x-forwarded-proto": "https"},
        )
        assert r.status_code == 303
        assert "secure" in {p.strip().lower() for p in r.headers["set-cookie"].split(";")}
    finally:
        api.stop()


def test_sign_out_and_expiry_end_the_session(shared: LiveApi) -> None:
    client = sign_in(shared)
    page = client.get("/panel")
    r = client.post("/panel/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/panel/login"
    assert client.get("/panel").status_code == 303

    client = sign_in(shared)
    assert client.get("/panel").status_code == 200
    shared.call(lambda: shared.ops.advance(8 * 3600 * 1000 + 1))
    r = client.get("/panel")
    assert r.status_code == 303 and r.headers["location"] == "/panel/login"


# -- CSRF and scope --------------------------------------------------------------------------


def test_an_action_without_the_sessions_csrf_is_refused(shared: LiveApi) -> None:
    client = sign_in(shared)
    for data in ({"reason": "x"}, {"reason": "x", "csrf": "forged"}):
        r = client.post("/panel/act/kill-engage", data=data)
        assert r.status_code == 403
        assert r.text.startswith("This form did not come from your panel session")
    other = sign_in(shared)
    r = client.post(
        "/panel/act/kill-engage", data={"reason": "x", "csrf": csrf_of(other.get("/panel").text)}
    )
    assert r.status_code == 403, "a csrf value is bound to its own session"
    assert shared.engine.controls.global_kill is False


def test_a_user_token_sees_its_account_but_cannot_act(shared: LiveApi) -> None:
    client = sign_in(shared, "alice")
    overview = client.get("/panel")
    assert overview.status_code == 200
    assert "Engage kill switch" not in overview.text and "(read only)" in overview.text
    assert figures(overview.text)["kill-switch"] == "released"
    accounts = client.get("/panel/accounts").text
    assert re.findall(r'<tr data-account="([^"]+)"', accounts) == ["alice"]
    own = client.get("/panel/accounts/alice")
    assert own.status_code == 200 and "Pause account" not in own.text
    assert client.get("/panel/accounts/bob").status_code == 403
    assert client.get("/panel/act/kill-engage").status_code == 403
    csrf = csrf_of(overview.text)
    for name, target in (("kill-engage", ""), ("account-pause", "alice")):
        r = client.post(f"/panel/act/{name}", data={"csrf": csrf, "reason": "x", "target": target})
        assert r.status_code == 403 and r.text == "This token can only read."
    assert shared.engine.controls.global_kill is False
    assert not shared.engine.accounts["alice"].paused


PAGES = (
    "/panel",
    "/panel/accounts",
    "/panel/accounts/alice",
    "/panel/accounts/bob",
    "/panel/trades",
    "/panel/trading",
    "/panel/launch",
    "/panel/reports",
    "/panel/operations",
)


def test_a_read_token_sees_every_page_and_figure_but_cannot_act(shared: LiveApi) -> None:
    shared.tokens["read"] = create_token(shared.session.db, "read", None, "viewer", 0)
    admin, client = sign_in(shared), sign_in(shared, "read")
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert "/panel/act/" not in page.text, f"{path} offers an action to a read session"
        assert "(read only)" in page.text
        assert figures(page.text).keys() == figures(admin.get(path).text).keys(), path
    shown, api = figures(client.get("/panel").text), shared.get(f"{ADMIN}/overview").json()
    for name in ("kill-switch", "stage", "incidents-open"):
        assert shown[name] == api["figures"][name], name
    assert shown["equity-total"] == api["shown"]["equity-total"]  # money as people read it
    listed = re.findall(r'<tr data-account="([^"]+)"', client.get("/panel/accounts").text)
    assert sorted(listed) == ["alice", "bob", "carol"]
    confirm = client.get("/panel/act/kill-engage")
    assert confirm.status_code == 403 and "This token can only read." in confirm.text
    csrf = csrf_of(client.get("/panel").text)
    for name, target in (("kill-engage", ""), ("account-pause", "bob"), ("incident-ack", "1")):
        r = client.post(f"/panel/act/{name}", data={"csrf": csrf, "reason": "x", "target": target})
        assert (r.status_code, r.text) == (403, "This token can only read."), name
    assert shared.engine.controls.global_kill is False
    assert not shared.engine.accounts["bob"].paused


# -- figures equal the API's -----------------------------------------------------------------


def test_every_page_shows_the_apis_figures(shared: LiveApi) -> None:
    client = sign_in(shared)
    shown = figures(client.get("/panel").text)
    api = shared.get(f"{ADMIN}/overview").json()["figures"]
    for name in (
        "kill-switch",
        "stage",
        "event-lag",
        "order-success",
        "alerts-firing",
        "incidents-open",
    ):
        assert shown[name] == api[name], name
    # Money reads as every front writes it; the API's JSON keeps the exact value.
    overview = shared.get(f"{ADMIN}/overview").json()
    assert overview["shown"]["equity-total"] == money(Decimal(api["equity-total"]), "USDT")
    assert overview["shown"]["pnl-today"] == pnl(Decimal(api["pnl-today"]), "USDT")
    for name in ("equity-total", "pnl-today"):
        assert shown[name] == overview["shown"][name], name
    portfolios = [
        shared.get(f"/api/v1/accounts/{a}/portfolio").json() for a in ("alice", "bob", "carol")
    ]
    assert sum(float(p["equity"]) for p in portfolios) == pytest.approx(float(api["equity-total"]))

    page = client.get("/panel/accounts").text
    listed = shared.get(f"{ADMIN}/accounts").json()["accounts"]
    for acct in listed:
        row = re.search(rf'<tr data-account="{acct["account_id"]}">(.*?)</tr>', page, re.S)
        assert row is not None, acct["account_id"]
        cells = figures(row.group(1))
        # One status; the risk state only beside it when it says more.
        assert cells["status"] == acct["status"]
        assert cells.get("state", acct["state"]) == acct["state"]
        assert cells["equity"] == money(Decimal(acct["equity"]), acct["quote"])
        assert cells["positions"] == str(acct["open_positions"])

    with_positions = [a["account_id"] for a in listed if a["open_positions"] > 0]
    assert with_positions, "the warm-up leaves positions open"
    aid = with_positions[0]
    page = client.get(f"/panel/accounts/{aid}").text
    positions = shared.get(f"/api/v1/accounts/{aid}/positions").json()["positions"]
    for pos in positions:
        row = re.search(rf'<tr data-position="{pos["symbol"]}">(.*?)</tr>', page, re.S)
        assert row is not None
        cells = figures(row.group(1))
        tick = shared.engine.venue.instrument(pos["symbol"]).tick_size
        assert cells["stop-loss"] == price(Decimal(pos["stop_loss"]), "", tick)
        assert cells["take-profit"] == price(Decimal(pos["take_profit"]), "", tick)


def test_the_live_stream_sends_the_overviews_figures(shared: LiveApi) -> None:
    client = sign_in(shared)
    with client.stream("GET", "/panel/live") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        data = next(line for line in lines if line.startswith("data: "))
    sent = json.loads(data.removeprefix("data: "))
    overview = shared.get(f"{ADMIN}/overview").json()
    assert sent["figures"] == overview["figures"]
    assert sent["shown"] == overview["shown"]  # the text the page's money takes


# -- actions ---------------------------------------------------------------------------------


def test_kill_switch_from_the_panel_stops_entries_then_releases(live: LiveApi) -> None:
    client = sign_in(live)
    assert "Engage kill switch" in client.get("/panel").text
    r = act(client, "kill-engage", reason="exchange outage")
    assert r.status_code == 303 and r.headers["location"] == "/panel"
    page = client.get("/panel").text
    [said] = statuses(page)
    assert said.startswith("Kill switch engaged by panel:ops: no new entries on 3 accounts")
    assert figures(page)["kill-switch"] == "engaged"
    assert "Release kill switch" in page and "Engage kill switch" not in page
    assert live.engine.controls.global_kill is True
    assert statuses(client.get("/panel").text) == [], "the sentence is shown once"

    seq_before = live.seqs()
    live.trade(300)
    assert live.entries_after(seq_before) == [], "no entry after the kill switch"

    refused = client.post("/panel/act/kill-release", data={"csrf": csrf_of(page), "reason": " "})
    assert refused.status_code == 400
    assert "Give a reason: it is recorded with who did what." in refused.text
    assert live.engine.controls.global_kill is True

    r = act(client, "kill-release", reason="venue back")
    assert r.status_code == 303
    assert statuses(client.get("/panel").text) == [
        "Kill switch released by panel:ops: accounts may open positions again."
    ]
    assert live.engine.controls.global_kill is False


def test_pause_resume_and_flatten_an_account(live: LiveApi) -> None:
    client = sign_in(live)
    page = client.get("/panel/accounts/bob").text
    assert "Pause account" in page and "Flatten account" in page
    r = act(client, "account-pause", target="bob", reason="odd fills")
    assert r.status_code == 303 and r.headers["location"] == "/panel/accounts/bob"
    page = client.get("/panel/accounts/bob").text
    [said] = statuses(page)
    assert "bob" in said and "paused" in said.lower()
    api = live.get(f"{ADMIN}/accounts").json()["accounts"]
    bob = next(a for a in api if a["account_id"] == "bob")
    assert bob["status"] == "paused" and figures(page)["status"] == "paused"
    assert "Resume account" in page

    r = act(client, "account-resume", target="bob", reason="checked")
    assert r.status_code == 303
    assert not live.engine.accounts["bob"].paused

    r = act(client, "account-flatten", target="bob", reason="close it all")
    assert r.status_code == 303
    live.trade(5)
    assert live.engine.accounts["bob"].paused
    assert not live.engine.accounts["bob"].ledger.positions

    missing = client.get("/panel/accounts/nobody")
    assert missing.status_code == 404
    r = act(client, "account-pause", target="nobody", reason="x")
    assert r.status_code == 404
    assert "There is no account called 'nobody'." in html.unescape(r.text)


def test_acknowledge_an_incident(live: LiveApi) -> None:
    found = incidents.open_incident(
        live.session.db,
        key="DatabaseDown",
        rule="DatabaseDown",
        severity="P0",
        summary="the database does not answer",
        value=1.0,
        threshold=0.0,
        labels={},
        now_ms=live.ops.now_ms(),
    )
    client = sign_in(live)
    page = client.get("/panel").text
    assert figures(page)["incidents-open"] == "1" and "Acknowledge" in page
    r = act(client, "incident-ack", target=str(found.id))
    assert r.status_code == 303
    page = client.get("/panel").text
    [said] = statuses(page)
    assert said.startswith(f"Incident {found.id} (DatabaseDown) acknowledged by panel:ops")
    api = live.get(f"{ADMIN}/incidents").json()["incidents"][0]
    assert api["status"] == "acknowledged" and api["acknowledged_by"] == "panel:ops"
    assert figures(page)["incidents-open"] == "0"


def test_the_live_stream_follows_a_change_without_a_reload(live: LiveApi) -> None:
    client = sign_in(live)
    with client.stream("GET", "/panel/live") as stream:
        events = (
            json.loads(line.removeprefix("data: "))["figures"]
            for line in stream.iter_lines()
            if line.startswith("data: ")
        )
        assert next(events)["kill-switch"] == "released"
        r = live.post(f"{ADMIN}/kill-switch", {"reason": "from elsewhere"})
        assert r.status_code == 200
        changed = next(e for e in events if e.get("kill-switch") == "engaged")
    api = live.get(f"{ADMIN}/overview").json()["figures"]
    assert changed["kill-reason"] == "from elsewhere"
    for name, value in changed.items():
        assert api[name] == value, name
