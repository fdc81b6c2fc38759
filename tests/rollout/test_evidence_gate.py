"""GO/NO-GO's research-evidence criterion (off by default): every account's agent and
parameters must be a saved setting whose evidence meets the operator's thresholds."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from rampart.agents.registry import agent_space
from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.rollout.controller import RolloutController
from rampart.rollout.evidence import check_evidence
from rampart.rollout.gonogo import go_nogo
from rampart.rollout.rules.evidence import EvidenceRule, judge
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import EvidenceConfig
from rampart.store.agent_configs import save_config
from rampart.store.db import open_database

GOOD = {
    "folds": [{}, {}, {}, {}],
    "pbo": 0.1,
    "deflated_sharpe": 0.97,
    "oos_sharpe": 1.4,
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
    bad = {"folds": [{}], "pbo": 0.6, "deflated_sharpe": 0.2, "oos_sharpe": -0.1}
    assert judge(bad, rule) == [
        "1 fold(s), 3 needed",
        "PBO 0.60 above 0.3",
        "deflated Sharpe 0.20 below 0.95",
        "out-of-sample Sharpe -0.10 below 0.5",
    ]
    assert judge({}, rule)[1:] == [
        "no PBO measured",
        "no deflated Sharpe",
        "no out-of-sample Sharpe",
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


def test_go_nogo_lists_the_criterion_only_when_required(tmp_path: Any) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        off = load_settings(accounts=ACCOUNTS)
        ctl = RolloutController(off.rollout, db, SimClock(1_700_000_000_000))
        assert "research evidence" not in [c.name for c in go_nogo(off, ctl).criteria]
        on = load_settings(
            accounts=ACCOUNTS, rollout={"evidence": {"required": True, "max_pbo": 0.5}}
        )
        ctl = RolloutController(on.rollout, db, SimClock(1_700_000_000_000))
        _save(db, "bob-ok", "breakout", {}, {**GOOD, "pbo": 0.45})
        report = go_nogo(on, ctl)
        [criterion] = [c for c in report.criteria if c.name == "research evidence"]
        assert criterion.verdict is Verdict.FAIL and not report.go
        assert criterion.measured == "1 of 2 account(s) with evidence"
        assert criterion.threshold.startswith("PBO <= 0.5, deflated Sharpe >= 0.95")
        assert "research evidence (fail)" in report.summary()
        _save(db, "alice", "trend", {"fast": 8, "slow": 30}, GOOD)
        [again] = [c for c in go_nogo(on, ctl).criteria if c.name == "research evidence"]
        assert again.verdict is Verdict.PASS
    finally:
        db.dispose()
