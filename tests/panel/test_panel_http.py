"""The operator panel over plain HTTP (no browser): sign-in, the session cookie, CSRF, a read-only
token, every page's figures against the API's JSON, and actions reaching the engine.

The service is the API tests' real one (tests/api/conftest.py: a TradingSession on simulated
time served by uvicorn on 127.0.0.1); the panel is spoken to with a cookie-keeping httpx client.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from rampart.api.panel.sessions import SessionStore
from rampart.domain.orders import OrderRole
from rampart.observability import incidents
from rampart.rollout.controller import RolloutController
from rampart.rollout.state import load_state, save_state
from rampart.store.audit import AuditLog
from rampart.store.models import reconciliation_repairs
from rampart.wiring.doctor import run_checks
from tests.api.conftest import LiveApi

ADMIN = "/api/v1/admin"
FIGURE = re.compile(r'data-figure="([^"]+)"[^>]*>([^<]*)<')


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """One service for the tests that change nothing but sessions."""
    api = LiveApi(tmp_path_factory.mktemp("panel"))
    try:
        yield api.start()
    finally:
        api.stop()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveApi]:
    api = LiveApi(tmp_path)
    try:
        yield api.start()
    finally:
        api.stop()


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


def figures(html: str) -> dict[str, str]:
    return dict(FIGURE.findall(html))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
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


def test_a_read_token_sees_its_account_but_cannot_act(shared: LiveApi) -> None:
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


# -- figures equal the API's -----------------------------------------------------------------


def test_every_page_shows_the_apis_figures(shared: LiveApi) -> None:
    client = sign_in(shared)
    shown = figures(client.get("/panel").text)
    api = shared.get(f"{ADMIN}/overview").json()["figures"]
    for name in (
        "kill-switch",
        "stage",
        "equity-total",
        "pnl-today",
        "event-lag",
        "order-success",
        "alerts-firing",
        "incidents-open",
    ):
        assert shown[name] == api[name], name
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
        assert cells["state"] == acct["state"] and cells["status"] == acct["status"]
        assert cells["equity"] == acct["equity"]
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
        assert cells["stop-loss"] == pos["stop_loss"]
        assert cells["take-profit"] == pos["take_profit"]


def test_the_live_stream_sends_the_overviews_figures(shared: LiveApi) -> None:
    client = sign_in(shared)
    with client.stream("GET", "/panel/live") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        data = next(line for line in lines if line.startswith("data: "))
    sent = json.loads(data.removeprefix("data: "))["figures"]
    assert sent == shared.get(f"{ADMIN}/overview").json()["figures"]


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

    seq_before = {a: acct.seq for a, acct in live.engine.accounts.items()}
    live.trade(300)
    for acct in live.engine.accounts.values():
        new = [
            o
            for o in acct.recent_orders
            if o.role is OrderRole.ENTRY
            and int(o.client_id.split("-")[2]) > seq_before[acct.account_id]
        ]
        assert new == [], "no entry after the kill switch"

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


# -- launch ----------------------------------------------------------------------------------

STAGES = [
    {"name": "internal", "users": ["alice"], "symbols": ["BTC/USDT"], "min_duration_h": 24},
    {"name": "limited", "users": ["alice", "bob"], "min_duration_h": 48},
    {"name": "open"},
]


def test_launch_shows_the_rollout_and_go_nogo_and_acts(tmp_path: Path) -> None:
    api = LiveApi(tmp_path, rollout={"enabled": True, "stages": STAGES})
    try:
        api.start(warm=200)
        db = api.session.db
        ctl = RolloutController(
            api.settings.rollout, db, api.ops, engine=api.engine, lock=api.ctx.lock
        )
        api.ctx.rollout = ctl
        api.call(ctl.start())
        client = sign_in(api)
        page = client.get("/panel/launch")
        assert page.status_code == 200
        shown = figures(page.text)
        assert (shown["stage"], shown["next-stage"]) == ("internal", "limited")
        report = api.get(f"{ADMIN}/go-nogo").json()
        assert shown["go-verdict"] == report["verdict"]
        for c in report["criteria"]:
            row = re.search(
                rf'<tr data-criterion="{re.escape(c["name"])}">(.*?)</tr>', page.text, re.S
            )
            assert row is not None, c["name"]
            cells = figures(row.group(1))
            assert html.unescape(cells["measured"]) == c["measured"]
            assert cells["verdict"] == c["verdict"]
        for label in ("Approve stage", "Hold", "Send test alert", "Run kill-switch drill"):
            assert f">{label}</button>" in page.text

        refused = act(client, "rollout-approve")
        assert refused.status_code == 409
        assert "No promotion of the &#39;internal&#39; stage is waiting" in refused.text
        assert act(client, "rollout-hold", reason="waiting for the audit").status_code == 303
        page = client.get("/panel/launch").text
        assert statuses(page) == ["Hold on internal placed; no promotion until released."]
        assert figures(page)["held"] == "yes: waiting for the audit"
        assert act(client, "rollout-release", reason="audit done").status_code == 303

        state = load_state(db)
        assert state is not None
        state.pending_since = api.ops.now_ms()
        with db.begin() as conn:
            save_state(conn, state, api.ops.now_ms())
        assert act(client, "rollout-approve").status_code == 303
        assert statuses(client.get("/panel/launch").text) == ["Promoted to limited."]
        assert api.engine.stage.name == "limited"

        assert act(client, "drill-kill").status_code == 303
        page = client.get("/panel/launch").text
        [said] = statuses(page)
        assert said.startswith("Kill-switch drill: engaged on 3 account(s)")
        row = re.search(r'<tr data-drill="kill_drill">(.*?)</tr>', page, re.S)
        assert row is not None and figures(row.group(1))["last-run"] != "never"
        assert api.engine.controls.global_kill is False
        assert act(client, "rollout-rollback", reason="too fast").status_code == 303
        assert statuses(client.get("/panel/launch").text) == [
            "Rolled back to internal; affected investors are told."
        ]
    finally:
        api.stop()


# -- operations ------------------------------------------------------------------------------


def test_operations_backs_up_verifies_the_audit_chain_and_lists_repairs(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    api = LiveApi(tmp_path, backup={"dir": str(backups), "key": "ab" * 32})
    try:
        api.start(warm=50)
        db = api.session.db
        with db.begin() as conn:
            conn.execute(
                reconciliation_repairs.insert().values(
                    ts=api.clock.now_ms(),
                    account_id="bob",
                    kind="fill_booked",
                    client_id="bob-e-7",
                    symbol="BTC/USDT",
                    detail="a fill the venue reported was booked",
                )
            )
        client = sign_in(api)
        page = client.get("/panel/operations")
        assert page.status_code == 200
        shown = figures(page.text)
        assert shown["last-backup"] == "never"
        seq, head = AuditLog(db).head()
        assert (shown["audit-seq"], shown["audit-head"]) == (str(seq), head)
        assert "a fill the venue reported was booked" in page.text

        assert act(client, "backup-now").status_code == 303
        page = client.get("/panel/operations").text
        [said] = statuses(page)
        [made] = list(backups.iterdir())
        assert said.startswith(f"Backup {made.name} written to ")
        assert f'<tr data-backup="{made.name}">' in page
        assert figures(page)["last-backup"] != "never"

        assert act(client, "audit-verify").status_code == 303
        [said] = statuses(client.get("/panel/operations").text)
        seq, head = AuditLog(db).head()
        assert said.startswith("The audit chain is intact:")
        assert said.endswith(f"Head: entry {seq} {head}.")
        assert "this process does not offer it" in page
        api.ctx.doctor = partial(run_checks, api.settings)
        assert act(client, "doctor-run").status_code == 303
        page = client.get("/panel/operations").text
        expected = run_checks(api.settings, api.ctx.business.now_ms())
        counts = {s: sum(1 for c in expected if c.status == s) for s in ("OK", "WARN", "FAIL")}
        assert statuses(page) == [
            f"Doctor: {counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL."
        ]
        for check in expected:
            row = re.search(rf'<tr data-check="{re.escape(check.name)}">(.*?)</tr>', page, re.S)
            assert row is not None, check.name
            assert figures(row.group(1))["doctor-status"] == check.status
        assert sign_in(api, "alice").get("/panel/operations").status_code == 403
    finally:
        api.stop()


# -- reports ---------------------------------------------------------------------------------


def test_reports_are_made_rendered_and_downloadable(live: LiveApi) -> None:
    client = sign_in(live)
    page = client.get("/panel/reports")
    assert page.status_code == 200 and "No reports yet" in page.text
    assert act(client, "report-daily").status_code == 303
    page = client.get("/panel/reports").text
    [said] = statuses(page)
    listed = live.get(f"{ADMIN}/reports").json()["reports"]
    [made] = listed
    assert said.startswith("The daily report for ")
    assert said.endswith(f" is ready (report {made['id']}).")
    assert f'<tr data-report="{made["id"]}">' in page

    stored = live.get(f"{ADMIN}/reports/{made['id']}").json()
    shown = client.get(f"/panel/reports/{made['id']}")
    assert shown.status_code == 200
    assert "<h1>" in shown.text or "<h2>" in shown.text, "the Markdown is rendered"
    download = client.get(f"/panel/reports/{made['id']}/report.md")
    assert download.status_code == 200 and download.text == stored["markdown"]
    assert download.headers["content-disposition"].startswith("attachment;")
    assert stored["charts"], "the report has its charts (matplotlib is installed here)"
    for name in stored["charts"]:
        assert f'src="/panel/reports/{made["id"]}/charts/{name}"' in shown.text
        png = client.get(f"/panel/reports/{made['id']}/charts/{name}")
        api_png = live.get(f"{ADMIN}/reports/{made['id']}/charts/{name}")
        assert png.headers["content-type"] == "image/png" and png.content == api_png.content
    assert client.get("/panel/reports/999").status_code == 404
    assert sign_in(live, "alice").get(f"/panel/reports/{made['id']}/report.md").status_code == 404


# -- trading ---------------------------------------------------------------------------------


def test_trading_starts_and_stops_an_engine_and_refuses_in_sentences(live: LiveApi) -> None:
    client = sign_in(live)
    page = client.get("/panel/trading")
    assert page.status_code == 200
    assert '<tr data-symbol="BTC/USDT">' in page.text and ">Start engine</button>" in page.text
    confirm = client.get("/panel/act/engine-start", params={"target": "BTC/USDT"}).text
    assert '<label for="f-capital">' in confirm and '<select id="f-agent" name="agent">' in confirm

    bad = act(client, "engine-start", target="BTC/USDT", capital="lots", agent="trend")
    assert bad.status_code == 400
    assert "Capital must be a number, like 1000; got &#39;lots&#39;." in bad.text
    assert len(live.engine.accounts) == 3

    r = act(client, "engine-start", target="BTC/USDT", capital="1000", agent="trend")
    assert r.status_code == 303
    page = client.get("/panel/trading").text
    [said] = statuses(page)
    started = live.get(f"{ADMIN}/accounts").json()["accounts"]
    engine = next(a for a in started if a["owner"] == "operator")
    assert said == f"Engine {engine['account_id']} started on BTC/USDT with 1000 USDT."
    row = re.search(rf'<div data-engine="{engine["account_id"]}">(.*?)</div>', page, re.S)
    assert row is not None and figures(row.group(1))["equity"] == engine["equity"]

    r = act(client, "engine-stop", target=engine["account_id"], reason="enough")
    assert r.status_code == 303
    [said] = statuses(client.get("/panel/trading").text)
    assert said.startswith(f"Engine {engine['account_id']} stopped by panel:ops")
    stopped = live.get(f"{ADMIN}/accounts").json()["accounts"]
    assert next(a for a in stopped if a["account_id"] == engine["account_id"])["status"] == (
        "stopped"
    )

    assert "No model versions yet" in client.get("/panel/trading").text
    refused = act(client, "model-rollback", reason="bad model")
    api = live.post(f"{ADMIN}/models/rollback", {"reason": "bad model"})
    assert refused.status_code == api.status_code
    assert html.escape(api.json()["error"]) in refused.text


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
