"""Inputs with a past: a declared file states the span it was computed or trained on
(``<file>.span.json``); research evidence counts only out-of-sample candles after that span
ends, and an input stating none is "unverified" in words and refuses promotion — in
``optimize``'s verdict (``with_checks``) and in GO/NO-GO's evidence criterion (``judge``, read
with the agent's inputs as they are now)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rampart.agents import plugins
from rampart.agents.registry import agent_code_hash, agent_input_spans, agent_space
from rampart.agents.spans import InputSpan, day, stated_span
from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.research.analysis import Analysis, with_checks
from rampart.rollout.evidence import check_evidence
from rampart.rollout.rules.evidence import EvidenceRule, judge
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import EvidenceConfig
from rampart.store.agent_configs import save_config
from rampart.store.db import open_database

JAN = 1_704_067_200_000  # 2024-01-01 00:00 UTC
DAY = 86_400_000
RULE = EvidenceRule(max_pbo=0.3, min_deflated_sharpe=0.95, min_oos_sharpe=0.5, min_folds=3)


def _good(code: str, oos_from: int | None) -> dict[str, Any]:
    checked = [
        {"check": "lookahead", "ok": True, "sentence": "No lookahead.", "code": code},
        {"check": "warm-up", "ok": True, "sentence": "Settled.", "code": code},
    ]
    return {
        "folds": [{}, {}, {}, {}],
        "pbo": 0.1,
        "deflated_sharpe": 0.97,
        "oos_sharpe": 1.4,
        "buy_and_hold_sharpe": 0.9,
        "checks": checked,
        "out_of_sample_from": oos_from,
    }


def test_a_sidecar_states_the_span_in_iso_dates_or_milliseconds(tmp_path: Path) -> None:
    table = tmp_path / "bars.csv"
    table.write_text("date,close\n")
    assert stated_span(table) == InputSpan("bars.csv", None, None)
    assert "bars.csv is unverified" in stated_span(table).describe()
    (tmp_path / "bars.csv.span.json").write_text(json.dumps({"from": "2024-01-01", "to": JAN}))
    assert stated_span(table) == InputSpan("bars.csv", JAN, JAN)
    (tmp_path / "bars.csv.span.json").write_text(json.dumps({"to": "2024-01-02T00:00:00Z"}))
    assert stated_span(table) == InputSpan("bars.csv", None, JAN + DAY)
    for bad, said in [
        ("{", "could not be read as JSON"),
        ('{"from": 1}', "'to' at least"),
        ('{"to": "last year"}', "'to' must be an ISO date"),
        ('{"from": 5, "to": 1}', "'from' is after 'to'"),
    ]:
        (tmp_path / "bars.csv.span.json").write_text(bad)
        with pytest.raises(ConfigError, match=said):
            stated_span(table)


def test_judge_refuses_an_unverified_input_and_evidence_inside_an_inputs_span() -> None:
    good = _good("c", JAN + DAY)
    assert judge(good, RULE, "c", []) == []
    unverified = judge(good, RULE, "c", [{"file": "model.npy", "to": None}])
    assert unverified == [
        "its input model.npy is unverified (it states no span it was computed or trained on): "
        "an agent with an unverified input is not promoted"
    ]
    assert judge(good, RULE, "c", [{"file": "model.npy", "to": JAN}]) == []
    inside = judge(good, RULE, "c", [{"file": "model.npy", "to": JAN + DAY}])
    assert inside and "start inside model.npy's span" in inside[0]
    unknown = judge(_good("c", None), RULE, "c", [{"file": "model.npy", "to": JAN}])
    assert unknown and "does not say where its out-of-sample candles start" in unknown[0]
    # Without the inputs now, the ones recorded with the evidence are read; a study over
    # several files counts from its earliest file's out-of-sample start.
    recorded = {**good, "inputs": [{"file": "t.csv", "to": JAN + 2 * DAY}]}
    assert judge(recorded, RULE, "c") and not judge(recorded, RULE, "c", [])
    pooled = {**good, "out_of_sample_from": None, "files": [{"out_of_sample_from": JAN}]}
    assert judge(pooled, RULE, "c", [{"file": "t.csv", "to": JAN}])
    assert not judge(pooled, RULE, "c", [{"file": "t.csv", "to": JAN - 1}])


def _analysis(oos_from: int | None) -> Analysis:
    verdict = ("Out-of-sample it beats buy-and-hold.", "Launch it.")
    plan: Any = None  # the verdict's lines are all with_checks reads
    return Analysis(plan, (), (), None, 0.1, {}, 0, 0.97, verdict, True, oos_from=oos_from)


def test_optimize_verdict_says_unverified_in_words_and_does_not_launch() -> None:
    after = with_checks(_analysis(JAN + DAY), (), (InputSpan("w.npy", None, JAN),))
    assert after.launchable and after.verdict[-1] == "Launch it."
    assert after.inputs == (InputSpan("w.npy", None, JAN),)
    unverified = with_checks(_analysis(JAN + DAY), (), (InputSpan("w.npy", None, None),))
    assert not unverified.launchable
    assert unverified.verdict[-2] == (
        "Input w.npy is unverified: it states no span it was computed or trained on "
        "(a w.npy.span.json beside it): the setting cannot be promoted."
    )
    assert unverified.verdict[-1] == "Do not launch it: its input w.npy is unverified."
    inside = with_checks(_analysis(JAN), (), (InputSpan("w.npy", None, JAN),))
    assert not inside.launchable
    assert inside.verdict[-1] == (
        "Do not launch it: its out-of-sample candles start inside w.npy's span."
    )


PLANTED = """
from decimal import Decimal

from rampart.agents.base import RuleAgent


class Planted(RuleAgent):
    name = "planted"
    files = ("weights.npy",)

    def __init__(self) -> None:
        super().__init__(Decimal(1))
        self.warmup = 1

    def _advance(self, candle):
        pass

    def _decide(self, view):
        return []
"""


def test_go_nogo_refuses_an_agent_whose_declared_file_states_no_span(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "planted.py").write_text(PLANTED)
    (tmp_path / "weights.npy").write_bytes(b"weights")
    spec = "planted.py:Planted"
    assert agent_input_spans(spec) == (InputSpan("weights.npy", None, None),)
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        accounts = load_settings(accounts=[{"id": "carol", "agent": spec, "params": {}}]).accounts
        save_config(
            db,
            name="carol",
            agent=spec,
            params=agent_space(spec).canonical(spec, {}),
            evidence=_good(agent_code_hash(spec), JAN + DAY),
            created_at=1,
            created_by="test",
        )
        cfg = EvidenceConfig(required=True)
        refused = check_evidence(db, accounts, cfg)
        assert refused.verdict is Verdict.FAIL
        assert "carol: 'carol': its input weights.npy is unverified" in refused.detail
        # Stated (the sidecar is a declared file's neighbour, not in the hash: same evidence).
        (tmp_path / "weights.npy.span.json").write_text(json.dumps({"to": "2023-12-31"}))
        assert check_evidence(db, accounts, cfg).verdict is Verdict.PASS
    finally:
        db.dispose()


def _model(db: Any, version: str, data: dict[str, Any]) -> None:
    from rampart.store.models.registry import ml_model_transitions, ml_models

    row = {
        "version": version,
        "created_at": 1,
        "created_by": "test",
        "algorithm": "logistic",
        "feature_names": [],
        "params": {},
        "data": data,
        "metrics": {},
        "artifact_path": f"{version}.joblib",
        "artifact_sha256": "0" * 64,
        "stage": "production",
    }
    with db.begin() as conn:
        conn.execute(ml_models.insert().values(**row))
        conn.execute(
            ml_model_transitions.insert().values(
                ts=1, action="promote", version=version, actor="test", reason="test"
            )
        )


def test_go_nogo_reads_the_ml_agents_training_span_from_the_model_registry(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        accounts = load_settings(accounts=[{"id": "dan", "agent": "ml", "params": {}}]).accounts
        save_config(
            db,
            name="dan",
            agent="ml",
            params=agent_space("ml").canonical("ml", {}),
            evidence=_good(agent_code_hash("ml"), JAN + DAY),
            created_at=1,
            created_by="test",
        )
        cfg = EvidenceConfig(required=True)
        none = check_evidence(db, accounts, cfg)
        assert "the production model (there is none) is unverified" in none.detail
        # Trained (walk-forward and the final fit) on candles up to the evidence's start.
        _model(db, "v1", {"from_ms": JAN - 30 * DAY, "to_ms": JAN + DAY})
        inside = check_evidence(db, accounts, cfg)
        assert inside.verdict is Verdict.FAIL
        assert "start inside model v1's span" in inside.detail
        _model(db, "v2", {"from_ms": JAN - 30 * DAY, "to_ms": JAN})
        assert check_evidence(db, accounts, cfg).verdict is Verdict.PASS
    finally:
        db.dispose()


def test_research_configs_and_show_say_unverified_in_words(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rampart.cli.main import app

    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = open_database(url)
    try:
        for name, inputs in [
            ("shipped", [{"file": "w.npy", "from": None, "to": None}]),
            ("stated", [{"file": "w.npy", "from": None, "to": JAN}]),
        ]:
            save_config(
                db,
                name=name,
                agent="trend",
                params=agent_space("trend").canonical("trend", {}),
                evidence={**_good("c", JAN + DAY), "inputs": inputs},
                created_at=1,
                created_by="test",
            )
    finally:
        db.dispose()
    env = {"RAMPART_STORE__URL": url, "COLUMNS": "300"}
    listed = CliRunner().invoke(app, ["research", "configs"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "unverified: w.npy (no stated span; not promoted)" in listed.output
    assert "every span stated" in listed.output
    shown = CliRunner().invoke(app, ["research", "show", "shipped"], env=env)
    assert "# declared inputs: unverified: w.npy (no stated span; not promoted)" in shown.output


SEARCHED = """
from decimal import Decimal

from rampart.agents.base import RuleAgent
from rampart.agents.space import SIZE_HINT, ParamSpace, int_param


class Planted(RuleAgent):
    name = "planted"
    files = ("weights.npy",)
    space = ParamSpace((int_param("n", 5, 2, 10), SIZE_HINT))

    def __init__(self, *, n=5, size_hint=Decimal(1)) -> None:
        super().__init__(size_hint)
        self.warmup = 1

    def _advance(self, candle):
        pass

    def _decide(self, view):
        return []
"""


def _prepared(shared_data: Path, tmp_path: Path, folds: int = 1) -> Any:
    from decimal import Decimal

    from rampart.cli.optimize import _prepare
    from tests.research.helpers import SHORT

    config = tmp_path / "r.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'r.db'}\n")
    args = ("sharpe", (2, False), folds, 3, 1, 7, False, None, 0, [], [], "moderate")
    return _prepare(
        load_settings(config),
        [shared_data / SHORT],
        "planted.py:Planted",
        *args,
        Decimal(1),
        None,
        [],
    )[0]


def test_optimize_folds_count_only_candles_after_a_declared_inputs_span(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rampart.market.loaders import load_candles
    from rampart.research.report import render
    from tests.research.helpers import SHORT

    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "planted.py").write_text(SEARCHED)
    (tmp_path / "weights.npy").write_bytes(b"weights")
    candles = list(load_candles(shared_data / SHORT).series.iter_candles())
    unverified = _prepared(shared_data, tmp_path)  # no span stated: nothing to cut by
    assert unverified.inputs_cut == "" and unverified.folds[0].in_sample.start < 100
    end = candles[299].ts  # made from the first 300 candles
    (tmp_path / "weights.npy.span.json").write_text(json.dumps({"to": end}))
    plan = _prepared(shared_data, tmp_path)
    (fold,) = plan.folds
    assert candles[fold.in_sample.start].ts > end and fold.in_sample.start <= 302
    assert plan.inputs_cut == (
        f"cut to the candles after weights.npy's span (made up to {day(end)}): the 300 of "
        f"{SHORT} candles before are in no fold"
    )
    analysis = Analysis(plan, (), (), None, None, None, None, None, (), False)
    assert f"| folds | {plan.inputs_cut} |" in render(analysis, (), spans=[])
    # Too few candles left after it for the folds asked: said in a sentence.
    with pytest.raises(ConfigError, match="406 candles after the inputs' span make 9 blocks of 45"):
        _prepared(shared_data, tmp_path, folds=6)
