"""Research trusts no unchecked agent: ``rampart optimize --save`` saves only a
setting whose lookahead and warm-up checks passed, each recorded with the hash of the agent's
code it ran; GO/NO-GO counts evidence only for the code the account trades now. Without these
checks a leaking agent's setting was saved, and counted as evidence, with its checks failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.agents.registry import agent_code_hash, agent_space
from rampart.cli.main import app
from rampart.config import load_settings
from rampart.rollout.evidence import check_evidence
from rampart.rollout.rules.evidence import EvidenceRule, judge
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import EvidenceConfig
from rampart.store.agent_configs import list_configs, save_config
from rampart.store.db import open_database
from tests.research.helpers import SHORT
from tests.research.test_sandbox_evasions import MEMORY_MAP

runner = CliRunner()
RULE = EvidenceRule(max_pbo=1.0, min_deflated_sharpe=-10, min_oos_sharpe=-10, min_folds=0)
FIGURES = {
    "folds": [{}],
    "pbo": 0.1,
    "deflated_sharpe": 1.0,
    "oos_sharpe": 2.0,
    "buy_and_hold_sharpe": 0.0,
}


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rampart.yaml").write_text(f"store:\n  url: sqlite:///{tmp_path / 'r.db'}\n")


def _optimize(data: Path, agent: str, tmp_path: Path) -> tuple[int, str]:
    done = runner.invoke(
        app,
        ["optimize", "--data", str(data), "--agent", agent, "--trials", "2", "--folds", "2",
         "--jobs", "1", "--seed", "1", "--out", str(tmp_path / "out"), "--save", "chosen",
         "--config", str(tmp_path / "rampart.yaml")],
    )  # fmt: skip
    return done.exit_code, done.output


def _saved(tmp_path: Path) -> list[str]:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        return [c.name for c in list_configs(db)]
    finally:
        db.dispose()


def test_a_setting_whose_lookahead_check_failed_is_not_saved(
    shared_data: Path, tmp_path: Path
) -> None:
    data = shared_data / SHORT
    (tmp_path / "peek.py").write_text(MEMORY_MAP.format(data=str(data)), encoding="utf-8")
    code, output = _optimize(data, "peek.py:Peek", tmp_path)
    assert code == 2, output
    assert "Not saved as 'chosen': its lookahead check failed" in output
    assert _saved(tmp_path) == []
    evidence = json.loads((tmp_path / "out" / "evidence.json").read_text())
    assert evidence["checks"][0]["ok"] is False  # the report still says why


def test_a_saved_setting_carries_the_hash_of_the_code_it_was_checked_on(
    shared_data: Path, tmp_path: Path
) -> None:
    code, output = _optimize(shared_data / SHORT, "trend", tmp_path)
    assert code == 0, output
    assert _saved(tmp_path) == ["chosen"]
    evidence = json.loads((tmp_path / "out" / "evidence.json").read_text())
    assert [(c["check"], c["ok"], c["code"]) for c in evidence["checks"]] == [
        ("lookahead", True, agent_code_hash("trend")),
        ("warm-up", True, agent_code_hash("trend")),
    ]
    assert "decided" in output and "p99" in output  # its decision time, in the summary


def test_judge_counts_only_checks_passed_on_the_code_traded_now() -> None:
    now = "a" * 64
    passed = [
        {"check": c, "ok": True, "sentence": ".", "code": now} for c in ("lookahead", "warm-up")
    ]
    assert judge({**FIGURES, "checks": passed}, RULE, now) == []
    other = [{**c, "code": "b" * 64} for c in passed]
    assert judge({**FIGURES, "checks": other}, RULE, now) == [
        f"its checks ran on other code of the agent ({'b' * 12}; now {'a' * 12}): search it again"
    ]
    unhashed = [{k: v for k, v in c.items() if k != "code"} for c in passed]
    assert "ran on other code" in judge({**FIGURES, "checks": unhashed}, RULE, now)[0]
    assert judge({**FIGURES, "checks": passed[:1]}, RULE, now) == [
        "no warm-up check on record (search it again)"
    ]
    assert judge({**FIGURES, "checks": []}, RULE, now) == [
        "no lookahead and warm-up checks on record (search it again)"
    ]


def test_evidence_for_an_agent_file_changed_since_does_not_count(tmp_path: Path) -> None:
    done = runner.invoke(app, ["agents", "new", "mine"])
    assert done.exit_code == 0, done.output
    spec = "mine.py:Mine"
    checks = [
        {"check": c, "ok": True, "sentence": ".", "code": agent_code_hash(spec)}
        for c in ("lookahead", "warm-up")
    ]
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    settings = load_settings(accounts=[{"id": "me", "agent": spec, "params": {}}])
    cfg = EvidenceConfig(required=True, max_pbo=1.0, min_deflated_sharpe=0, min_oos_sharpe=0,
                         min_folds=1)  # fmt: skip
    try:
        save_config(db, name="mine", agent=spec, params=agent_space(spec).canonical(spec, {}),
                    evidence={**FIGURES, "checks": checks},
                    created_at=1, created_by="test")  # fmt: skip
        assert check_evidence(db, settings.accounts, cfg).verdict is Verdict.PASS
        source = tmp_path / "mine.py"
        source.write_text(source.read_text() + "\n# tuned by hand after the search\n")
        changed = check_evidence(db, settings.accounts, cfg)
        assert changed.verdict is Verdict.FAIL
        assert "its checks ran on other code of the agent" in changed.detail
    finally:
        db.dispose()
