"""Whether a saved setting's research evidence meets the operator's thresholds (GO/NO-GO's
evidence criterion, off by default: ``rollout.evidence.required``).

The evidence is what ``rampart optimize --save`` stored (``rampart.research.analysis``): the
walk-forward folds, the PBO pooled over them, the chosen setting's deflated Sharpe ratio and
the out-of-sample Sharpe. Pure: a mapping in, a verdict and its reasons out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EvidenceRule:
    max_pbo: float
    min_deflated_sharpe: float
    min_oos_sharpe: float
    min_folds: int

    def describe(self) -> str:
        return (
            f"PBO <= {self.max_pbo:g}, deflated Sharpe >= {self.min_deflated_sharpe:g}, "
            f"out-of-sample Sharpe >= {self.min_oos_sharpe:g}, >= {self.min_folds} folds"
        )


def _number(evidence: Mapping[str, object], key: str) -> float | None:
    value = evidence.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def judge(evidence: Mapping[str, object], rule: EvidenceRule) -> list[str]:
    """Every way the evidence misses the rule, in words; empty when it meets it."""
    misses: list[str] = []
    folds = evidence.get("folds")
    count = len(folds) if isinstance(folds, list) else 0
    if count < rule.min_folds:
        misses.append(f"{count} fold(s), {rule.min_folds} needed")
    pbo = _number(evidence, "pbo")
    if pbo is None:
        misses.append("no PBO measured")
    elif pbo > rule.max_pbo:
        misses.append(f"PBO {pbo:.2f} above {rule.max_pbo:g}")
    dsr = _number(evidence, "deflated_sharpe")
    if dsr is None:
        misses.append("no deflated Sharpe")
    elif dsr < rule.min_deflated_sharpe:
        misses.append(f"deflated Sharpe {dsr:.2f} below {rule.min_deflated_sharpe:g}")
    oos = _number(evidence, "oos_sharpe")
    if oos is None:
        misses.append("no out-of-sample Sharpe")
    elif oos < rule.min_oos_sharpe:
        misses.append(f"out-of-sample Sharpe {oos:.2f} below {rule.min_oos_sharpe:g}")
    return misses
