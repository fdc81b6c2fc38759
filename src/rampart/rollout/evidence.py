"""GO/NO-GO's evidence criterion: does every account trade a setting whose research evidence
meets the operator's thresholds? From the ``limited`` stage on by default
(``rollout.evidence``; ``rampart.rollout.gonogo.evidence_required``).

An account's setting is its agent and parameters; it has evidence when a configuration saved
by ``rampart optimize --save`` holds the same agent and the same parameters (both read through
the agent's declarations, defaults filled in, so ``fast: "8"`` and ``fast: 8`` are one
setting). Any matching configuration whose evidence meets the thresholds will do, and whose
lookahead and warm-up checks passed on the agent's code as it is now (by hash: a changed line or
weights file needs the checks again). Every file the agent declares states the span it was
computed or trained on (``rampart.agents.spans``): an input that states none is unverified and
refuses the setting, and evidence counts only when its out-of-sample candles start after every
input's span ends. The ``ml`` agent's input is the model in production, whose registry record
carries the span it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from rampart.agents.ml import MlAgent
from rampart.agents.registry import agent_code_hash, agent_input_spans, agent_space
from rampart.domain.errors import ConfigError
from rampart.ml.registry import ModelRegistry
from rampart.rollout.rules.evidence import judge
from rampart.rollout.rules.gates import Verdict
from rampart.rollout.settings import EvidenceConfig
from rampart.store.agent_configs import list_configs


class AccountSetting(Protocol):
    """What the criterion reads of a configured account (``rampart.config.AccountConfig``)."""

    @property
    def id(self) -> str: ...

    @property
    def agent(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    measured: str
    threshold: str
    verdict: Verdict
    detail: str


def production_model(db: sa.Engine) -> dict[str, object]:
    """The ``ml`` agent's input: the model in production, whose registry record states the span
    its files cover (``from_ms``, ``to_ms``: walk-forward's folds and the final fit read no
    candle after it)."""
    model = ModelRegistry(db, Path(".")).production()
    if model is None:
        return {"file": "the production model (there is none)", "from": None, "to": None}
    span = model.data if isinstance(model.data, Mapping) else {}
    return {"file": f"model {model.version}", "from": span.get("from_ms"), "to": span.get("to_ms")}


def _why_not(db: sa.Engine, account: AccountSetting, cfg: EvidenceConfig) -> str | None:
    """None when the account's setting has evidence meeting the thresholds, else why not."""
    try:
        wanted = agent_space(account.agent).canonical(account.agent, account.params)
        code = agent_code_hash(account.agent)
        inputs = [span.as_dict() for span in agent_input_spans(account.agent)]
        if account.agent == MlAgent.name:
            inputs.append(production_model(db))
    except ConfigError as err:
        return f"its setting is not one research can match ({err.message})"
    matching = [c for c in list_configs(db, account.agent) if c.params == wanted]
    if not matching:
        return "no saved configuration holds its agent and parameters"
    misses: list[str] = []
    for saved in matching:
        found = judge(saved.evidence, cfg.rule(), code, inputs)
        if not found:
            return None
        misses.append(f"'{saved.name}': {', '.join(found)}")
    return "; ".join(misses)


def check_evidence(
    db: sa.Engine, accounts: Sequence[AccountSetting], cfg: EvidenceConfig
) -> EvidenceCheck:
    threshold = cfg.rule().describe()
    if not accounts:
        return EvidenceCheck(
            "no accounts configured", threshold, Verdict.INCONCLUSIVE, "nothing to judge"
        )
    failing = [(a.id, why) for a in accounts if (why := _why_not(db, a, cfg)) is not None]
    measured = f"{len(accounts) - len(failing)} of {len(accounts)} account(s) with evidence"
    if not failing:
        return EvidenceCheck(measured, threshold, Verdict.PASS, "")
    detail = "; ".join(f"{account}: {why}" for account, why in failing)
    return EvidenceCheck(measured, threshold, Verdict.FAIL, detail)
