"""GO/NO-GO's research-evidence criterion (from the ``limited`` stage on, and for a launch
without the staged rollout, by default): every account's agent and parameters must be a saved
setting whose evidence meets the operator's thresholds; only a recorded, audited waiver sets it
aside."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.agents.registry import agent_code_hash, agent_space
from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.errors import ConfigError, RampartError
from rampart.rollout.controller import RolloutController
from rampart.rollout.evidence import check_evidence
from rampart.rollout.gonogo import evidence_required, go_nogo
from rampart.rollout.rules.evidence import EvidenceRule, judge
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import EvidenceConfig
from rampart.store.agent_configs import save_config
from rampart.store.audit import AuditLog
from rampart.store.db import open_database

CODE = agent_code_hash("trend")
"""Rampart's own agents share one hash (their code is rampart/agents)."""
CHECKED = [
    {"check": "lookahead", "ok": True, "sentence": "No lookahead.", "code": CODE},
    {"check": "warm-up", "ok": True, "sentence": "Settled.", "code": CODE},
]
GOOD = {
    "folds": [{}, {}, {}, {}],
    "pbo": 0.1,
    "deflated_sharpe": 0.97,
    "oos_sharpe": 1.4,
    "buy_and_hold_sharpe": 0.9,
    "checks": CHECKED,
}
ACCOUNTS = [
    {"id": "alice", "agent": "trend", "params": {"fast": "8", "slow": 30}},
    {"id": "bob", "agent": "breakout", "params": {}},
]


def _save(
    db: sa.Engine, name: str, agent: str, params: dict[str, Any], evidence: dict[str, Any]
) -> None:
    save_config(
        db,
        name=name,
        agent=agent,
        params=agent_space(agent).canonical(agent, params),
        evidence=evidence,
        created_at=1,
        created_by="test",
    )


def test_judge_names_every_miss() -> None:
    rule = EvidenceRule(max_pbo=0.3, min_deflated_sharpe=0.95, min_oos_sharpe=0.5, min_folds=3)
    assert judge(GOOD, rule) == []
    bad = {
        "folds": [{}],
        "pbo": 0.6,
        "deflated_sharpe": 0.2,
        "oos_sharpe": -0.1,
        "buy_and_hold_sharpe": -0.3,
        "checks": [CHECKED[0], {**CHECKED[1], "ok": False}],
    }
    assert judge(bad, rule) == [
        "1 fold(s), 3 needed",
        "PBO 0.60 above 0.3",
        "deflated Sharpe 0.20 below 0.95",
        "out-of-sample Sharpe -0.10 below 0.5",
        "out-of-sample Sharpe -0.10 does not beat buy-and-hold's -0.30 by 0.3",
        "its warm-up check failed",
    ]
    assert judge({}, rule)[1:] == [
        "no PBO measured",
        "no deflated Sharpe",
        "no out-of-sample Sharpe",
        "no lookahead and warm-up checks on record (search it again)",
    ]
    # The launch's margin over holding: 1.4 against a hold Sharpe of 1.2 is not enough.
    assert judge({**GOOD, "buy_and_hold_sharpe": 1.2}, rule) == [
        "out-of-sample Sharpe 1.40 does not beat buy-and-hold's 1.20 by 0.3"
    ]
    assert judge({**GOOD, "buy_and_hold_sharpe": None}, rule) == [
        "no buy-and-hold Sharpe to compare with"
    ]


def test_each_account_needs_a_matching_setting_with_evidence(tmp_path: Any) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    settings = load_settings(accounts=ACCOUNTS)
    cfg = EvidenceConfig(required=True)
    try:
        none = check_evidence(db, settings.accounts, cfg)
        assert none.verdict is Verdict.FAIL and none.measured == "0 of 2 account(s) with evidence"
        assert "alice: no saved configuration holds its agent and parameters" in none.detail
        # The same setting written another way (fast as text, defaults filled in) matches.
        _save(db, "alice-trend", "trend", {"fast": 8, "slow": "30", "atr_k": 2.0}, GOOD)
        _save(db, "bob-weak", "breakout", {}, {**GOOD, "pbo": 0.7})
        half = check_evidence(db, settings.accounts, cfg)
        assert half.verdict is Verdict.FAIL and half.measured.startswith("1 of 2")
        assert "bob: 'bob-weak': PBO 0.70 above 0.3" in half.detail and "alice" not in half.detail
        _save(db, "bob-good", "breakout", {"period": 20}, GOOD)
        both = check_evidence(db, settings.accounts, cfg)
        assert both.verdict is Verdict.PASS and both.measured == "2 of 2 account(s) with evidence"
        # Another parameter value is another setting: no evidence for it.
        moved = load_settings(accounts=[{**ACCOUNTS[0], "params": {"fast": 9, "slow": 30}}])
        assert check_evidence(db, moved.accounts, cfg).verdict is Verdict.FAIL
        assert check_evidence(db, [], cfg).verdict is Verdict.INCONCLUSIVE
    finally:
        db.dispose()


def test_go_nogo_on_the_demo_names_the_missing_research_evidence_by_default(
    tmp_path: Any,
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        demo = load_settings()  # the defaults: three demo accounts, no staged rollout
        ctl = RolloutController(demo.rollout, db, SimClock(1_700_000_000_000))
        report = go_nogo(demo, ctl)
        [criterion] = [c for c in report.criteria if c.name == "research evidence"]
        assert criterion.verdict is Verdict.FAIL and not report.go
        assert criterion.measured == "0 of 3 account(s) with evidence"
        for account in ("demo-trend", "demo-meanrev", "demo-breakout"):
            assert f"{account}: no saved configuration holds its agent and parameters" in (
                criterion.detail
            )
        assert "buy-and-hold's + 0.3" in criterion.threshold
        assert "research evidence (fail)" in report.summary()
    finally:
        db.dispose()


def test_the_criterion_is_asked_from_the_limited_stage_on(tmp_path: Any) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    stages = [{"name": "internal"}, {"name": "beta"}, {"name": "limited"}, {"name": "open"}]
    try:
        staged = load_settings(accounts=ACCOUNTS, rollout={"enabled": True, "stages": stages})
        ctl = RolloutController(staged.rollout, db, SimClock(1_700_000_000_000))
        status = ctl.status()
        assert (status.stage, status.next_stage) == ("internal", "beta")
        assert not evidence_required(staged.rollout, status)
        assert "research evidence" not in [c.name for c in go_nogo(staged, ctl).criteria]
        # GO from beta is the promotion into limited: from here on it is asked.
        beta = replace(status, stage="beta", next_stage="limited")
        assert evidence_required(staged.rollout, beta)
        assert evidence_required(staged.rollout, replace(status, stage="open", next_stage=None))
        # With the default stages, GO from internal is the promotion into limited.
        default = load_settings(rollout={"enabled": True}).rollout
        assert evidence_required(default, replace(status, next_stage="limited"))
        forced = load_settings(
            rollout={"enabled": True, "stages": stages, "evidence": {"required": True}}
        ).rollout
        assert evidence_required(forced, status)
    finally:
        db.dispose()
    with pytest.raises(ConfigError, match=r"evidence\.from_stage 'later' is not a stage"):
        load_settings(rollout={"stages": stages, "evidence": {"from_stage": "later"}})


def test_thresholds_and_a_waiver_recorded_with_who_and_why(tmp_path: Any) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    clock = SimClock(1_700_000_000_000)
    try:
        on = load_settings(accounts=ACCOUNTS, rollout={"evidence": {"max_pbo": 0.5}})
        ctl = RolloutController(on.rollout, db, clock)
        _save(db, "bob-ok", "breakout", {}, {**GOOD, "pbo": 0.45})
        report = go_nogo(on, ctl)
        [criterion] = [c for c in report.criteria if c.name == "research evidence"]
        assert criterion.verdict is Verdict.FAIL and not report.go
        assert criterion.measured == "1 of 2 account(s) with evidence"
        assert criterion.threshold.startswith("PBO <= 0.5, deflated Sharpe >= 0.95")
        with pytest.raises(RampartError, match="Give a reason"):
            asyncio.run(ctl.waive_evidence("ops", "  "))
        asyncio.run(ctl.waive_evidence("ops", "alice's setting is a week from its search"))
        [waived] = [c for c in go_nogo(on, ctl).criteria if c.name == "research evidence"]
        assert waived.verdict is Verdict.PASS
        assert waived.measured == "waived by ops on 2023-11-14 22:13 UTC"
        assert waived.detail.startswith("alice's setting is a week from its search; without the")
        assert "alice: no saved configuration" in waived.detail
        [row] = AuditLog(db).tail(action="rollout.evidence_waiver")
        assert row.actor == "ops" and row.target == "research evidence"
        asyncio.run(ctl.waive_evidence("ops", "the search is done", withdraw=True))
        [back] = [c for c in go_nogo(on, ctl).criteria if c.name == "research evidence"]
        assert back.verdict is Verdict.FAIL
        _save(db, "alice", "trend", {"fast": 8, "slow": 30}, GOOD)
        [again] = [c for c in go_nogo(on, ctl).criteria if c.name == "research evidence"]
        assert again.verdict is Verdict.PASS and again.measured == "2 of 2 account(s) with evidence"
    finally:
        db.dispose()


def test_waive_evidence_command_is_recorded_and_shown(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAMPART_STORE__URL", f"sqlite:///{tmp_path / 'r.db'}")
    runner = CliRunner()
    before = runner.invoke(app, ["go-nogo", "--json"])
    assert before.exit_code == 1
    [criterion] = [
        c for c in json.loads(before.output)["criteria"] if c["name"] == "research evidence"
    ]
    assert criterion["verdict"] == "fail" and "demo-trend" in criterion["detail"]
    refused = runner.invoke(app, ["rollout", "waive-evidence", "--reason", " "])
    assert refused.exit_code != 0 and "Give a reason" in refused.output
    done = runner.invoke(
        app, ["rollout", "waive-evidence", "--reason", "paper only this week", "--by", "kim"]
    )
    assert done.exit_code == 0, done.output
    assert "Research evidence waived" in done.output
    after = runner.invoke(app, ["go-nogo", "--json"])
    [waived] = [c for c in json.loads(after.output)["criteria"] if c["name"] == "research evidence"]
    assert waived["verdict"] == "pass" and waived["measured"].startswith("waived by kim on ")
    assert waived["detail"].startswith("paper only this week; without the waiver: 0 of 3")
