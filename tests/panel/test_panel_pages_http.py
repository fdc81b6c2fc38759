"""The panel's Launch, Operations, Reports and Trading pages over plain HTTP: their figures
against the API's JSON, and each action reaching the rollout controller, the drills, the
backups, the audit chain, the doctor, the reports and the engines with their sentences."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from functools import partial
from pathlib import Path

from rampart.domain.money_format import money
from rampart.rollout.controller import RolloutController
from rampart.rollout.deploy import Deployer
from rampart.rollout.state import load_state, save_state
from rampart.store.audit import AuditLog
from rampart.store.leases import ShardLeases
from rampart.store.models import reconciliation_repairs
from rampart.wiring.doctor import run_checks
from tests.api.conftest import LiveApi
from tests.panel.panel_http import ADMIN, act, figures, sign_in, statuses

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
    shown = money(Decimal(engine["equity"]), engine["quote"])
    assert row is not None and figures(row.group(1))["equity"] == shown

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


def test_operations_shows_the_workers_and_the_deploy_with_its_gates(tmp_path: Path) -> None:
    api = LiveApi(tmp_path)
    try:
        api.start(warm=50)
        client = sign_in(api)
        assert "Workers and deploys" not in client.get("/panel/operations").text  # one process

        db, clock = api.session.db, api.ctx.operator.business
        shards = api.settings.scale.shards
        lease_ms = int(api.settings.scale.lease_s * 1000)
        blue = ShardLeases(db, "w1", clock, lease_ms, version="v1")
        green = ShardLeases(db, "w2", clock, lease_ms, version="v2", role="standby")
        blue.ensure(shards)
        for worker in (blue, green):
            worker.beat()
        for shard in range(shards - 1):  # the last one between owners
            assert blue.acquire(shard) is not None
        rollout = api.settings.rollout
        deployer = Deployer(db, shards, rollout.gate_list(), clock.now_ms, lease_ms=lease_ms)
        deploy = deployer.start("v2", "ops")

        page = client.get("/panel/operations").text
        shown = figures(page)
        assert shown["fleet-by-version"] == f"v1: {shards - 1}"
        assert shown["fleet-unheld"] == "1"
        for name, version, role, held in (
            ("w1", "v1", "active", shards - 1),
            ("w2", "v2", "standby", 0),
        ):
            row = re.search(rf'<tr data-worker="{name}">(.*?)</tr>', page, re.S)
            assert row is not None, name
            assert figures(row.group(1)) == {
                "worker-version": version,
                "worker-role": role,
                "worker-shards": str(held),
            }
        assert f"Deploy {deploy.id} from v1 to v2" in page
        assert (shown["deploy-status"], shown["deploy-step"], shown["deploy-share"]) == (
            "running",
            "1 of 3",
            "10 %",
        )
        assert shown["deploy-held"] == "0 of 30 min"
        assert shown["deploy-ready"] == "not ready"
        check = deployer.check(deploy)
        verdicts = re.findall(
            r'<tr data-gate="([^"]+)">.*?data-figure="gate-verdict"[^>]*>([^<]*)<', page, re.S
        )
        assert verdicts == [(r.gate.metric, r.verdict.value) for r in check.results]
        assert verdicts  # the step is gated
    finally:
        api.stop()
