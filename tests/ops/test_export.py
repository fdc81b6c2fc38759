"""The Prometheus export: promtool and amtool accept it, its rule unit tests prove each alert
fires past its threshold and not on it, it equals the in-service rules, and ``deploy/`` holds
a fresh copy. Without promtool/amtool these tests skip, except in CI where they fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.observability.alerts.overrides import load_rules
from rampart.observability.alerts.rules import AlertRule, default_rules, duration
from rampart.observability.dashboard import PANELS, expressions
from rampart.observability.export import (
    ALERTMANAGER_FILE,
    DASHBOARD_FILE,
    PROMETHEUS_FILE,
    RULES_FILE,
    TESTS_FILE,
    ExportOptions,
    render_export,
    write_export,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
LABELLED = {
    "WorkerDown",
    "FeedDisconnected",
    "VenueReportUnexplained",
    "HoldingsApart",
    "BooksDifferUnrepaired",
    "PositionUnprotected",
    "PositionUnprotectedLong",
    "ReconciliationRepairs",
    "SupportTicketOverdue",
    "SubscriberFailing",
    "RequestBudgetLow",
    "ConsumerLagHigh",
    "MarketDataSuspect",
    "MarketDataHeld",
    "AnomalyWidespread",
    "AnomalyDetected",
    "MessagingDown",
    "DeployRolledBack",
    "InvestorProblem",
    "AgentOverran",
    "DatabaseSlow",
}
"""Rules whose summary names a label of the series (the others name none)."""
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (run scripts/install-ops-tools.sh)"
        if IN_CI:
            pytest.fail(f"{message}; CI must check the Prometheus export.")
        pytest.skip(message)
    return path


def check(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def export(tmp_path: Path, rules: list[AlertRule] | None = None) -> Path:
    write_export(tmp_path, rules if rules is not None else default_rules())
    return tmp_path


def test_promtool_accepts_the_rules_and_the_config(tmp_path: Path) -> None:
    promtool = tool("promtool")
    out = export(tmp_path)
    rules = check(promtool, "check", "rules", RULES_FILE, cwd=out)
    enabled = [r for r in default_rules() if r.enabled]  # BagsShareLow is off by default
    assert f"SUCCESS: {len(enabled) + 1} rules found" in rules
    check(promtool, "check", "config", PROMETHEUS_FILE, cwd=out)


def test_promtool_rule_unit_tests_pass(tmp_path: Path) -> None:
    promtool = tool("promtool")
    out = export(tmp_path)
    check(promtool, "test", "rules", Path(TESTS_FILE).name, cwd=out / "prometheus")
    tests = yaml.safe_load((out / TESTS_FILE).read_text())["tests"]
    names = {t["name"] for t in tests}
    for rule in (r for r in default_rules() if r.enabled):
        assert any(n.startswith(f"{rule.name} fires at") for n in names), rule.name
        assert any(n.startswith(f"{rule.name} stays quiet at") for n in names), rule.name


def _run_against(tmp_path: Path, rules: list[AlertRule]) -> str:
    """Run the default rules' unit tests against rule expressions from ``rules`` (keeping the
    default annotations, so only the firing decisions can differ)."""
    promtool = tool("promtool")
    files = render_export(default_rules())
    exported = yaml.safe_load(files[RULES_FILE])
    exprs = {rule.name: rule.expr for rule in rules}
    for group in exported["groups"]:
        for rule in group["rules"]:
            rule["expr"] = exprs.get(rule["alert"], rule["expr"])
    folder = tmp_path / "prometheus"
    folder.mkdir(parents=True)
    (folder / Path(RULES_FILE).name).write_text(yaml.safe_dump(exported, sort_keys=False))
    (folder / Path(TESTS_FILE).name).write_text(files[TESTS_FILE])
    done = subprocess.run(
        [promtool, "test", "rules", Path(TESTS_FILE).name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, "the unit tests must notice a moved threshold"
    return done.stdout + done.stderr


def _moved(rule: AlertRule, towards_quiet: bool) -> AlertRule:
    sign = {">": -1, ">=": -1, "<": 1, "<=": 1}[rule.comparison]
    sign = sign if towards_quiet else -sign
    return replace(rule, threshold=round(rule.threshold + sign * rule.step, 9))


def test_the_unit_tests_sit_exactly_on_each_threshold(tmp_path: Path) -> None:
    # One step towards the quiet input and every "stays quiet" test fails; one step away
    # and every "fires" test fails: the inputs are at the threshold, not merely near it.
    rules = [r for r in default_rules() if r.enabled]  # BagsShareLow: tests/solana
    toward = _run_against(tmp_path / "toward", [_moved(r, True) for r in rules])
    away = _run_against(tmp_path / "away", [_moved(r, False) for r in rules])
    for rule in rules:
        assert f"name: {rule.name} stays quiet at" in toward, rule.name
        assert f"name: {rule.name} fires at" in away, rule.name
        assert f"name: {rule.name} fires at" not in toward, rule.name


def test_amtool_accepts_the_alertmanager_config(tmp_path: Path) -> None:
    amtool = tool("amtool")
    out = export(tmp_path)
    output = check(amtool, "check-config", ALERTMANAGER_FILE, cwd=out)
    assert "3 receivers" in output


def test_exported_rules_equal_the_in_service_rules(tmp_path: Path) -> None:
    rules = [r for r in default_rules() if r.enabled]  # BagsShareLow is off by default
    exported = yaml.safe_load(render_export(default_rules())[RULES_FILE])
    (group, scrape) = exported["groups"]
    assert [r["alert"] for r in group["rules"]] == [r.name for r in rules]
    for rule, alert in zip(rules, group["rules"], strict=True):
        assert alert["expr"] == rule.expr
        assert alert["for"] == duration(rule.for_s)
        assert alert["labels"] == {"severity": rule.severity}
        assert rule.name in LABELLED or "$labels" not in str(alert)
    assert [r["alert"] for r in scrape["rules"]] == ["RampartUnreachable"]


def test_alertmanager_routes_each_level_to_its_own_receiver() -> None:
    config = yaml.safe_load(render_export(default_rules())[ALERTMANAGER_FILE])
    routes = {r["matchers"][0]: r for r in config["route"]["routes"]}
    assert set(routes) == {'severity="P0"', 'severity="P1"', 'severity="P2"'}
    receivers = {r["receiver"] for r in routes.values()}
    assert len(receivers) == 3
    assert routes['severity="P0"']["repeat_interval"] == "15m"
    for receiver in config["receivers"]:
        (hook,) = receiver["webhook_configs"]
        assert hook["url"].startswith("http://127.0.0.1:") and hook["send_resolved"] is True


def test_prometheus_scrapes_rampart_and_alerts_to_alertmanager() -> None:
    config = yaml.safe_load(render_export(default_rules(), ExportOptions())[PROMETHEUS_FILE])
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8080"]
    assert config["rule_files"] == [Path(RULES_FILE).name]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["127.0.0.1:9093"]


def test_every_dashboard_expression_is_valid_promql(tmp_path: Path) -> None:
    promtool = tool("promtool")
    board = json.loads(render_export(default_rules())[DASHBOARD_FILE])
    titles = {p["title"] for p in board["panels"]}
    for wanted in ("Orders by status", "Order success rate", "Order latency", "Equity and PnL"):
        assert wanted in titles
    for wanted in ("Breaker trips", "Feed staleness", "Worker heartbeat age", "Kill switch"):
        assert wanted in titles
    assert len(board["panels"]) == len(PANELS)
    recording = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"rampart:panel_{i}", "expr": expr}
                    for i, expr in enumerate(expressions())
                ],
            }
        ]
    }
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump(recording))
    check(promtool, "check", "rules", str(path), cwd=tmp_path)


def test_the_committed_deploy_files_equal_a_fresh_export() -> None:
    for relative, text in render_export(default_rules()).items():
        committed = DEPLOY / relative
        assert committed.is_file(), f"{committed} is missing: run rampart ops export --out deploy"
        assert committed.read_text(encoding="utf-8") == text, (
            f"{committed} is stale: run rampart ops export --out deploy"
        )


def test_the_command_exports_rules_with_overrides(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text("EventLagHigh: {threshold: 500, for: 2m}\nErrorSpike: {enabled: false}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["ops", "export", "--out", str(out)],
        env={"RAMPART_ALERTS__RULES_FILE": str(rules_file)},
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 5 files" in result.output
    exported = yaml.safe_load((out / RULES_FILE).read_text())
    alerts = {r["alert"]: r for r in exported["groups"][0]["rules"]}
    assert "ErrorSpike" not in alerts
    assert alerts["EventLagHigh"]["expr"].endswith("> 500")
    assert alerts["EventLagHigh"]["for"] == "2m"
    tuned = load_rules(rules_file)
    assert render_export(tuned)[RULES_FILE] == (out / RULES_FILE).read_text()
    if shutil.which("promtool"):
        check("promtool", "test", "rules", Path(TESTS_FILE).name, cwd=out / "prometheus")


def test_the_command_explains_an_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["ops", "export", "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "Cannot write the export" in result.output and "Traceback" not in result.output
