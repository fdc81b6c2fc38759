"""Whether a saved setting's research evidence meets the operator's thresholds (GO/NO-GO's
evidence criterion, from the ``limited`` stage on by default: ``rollout.evidence``).

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
    min_margin_over_hold: float = 0.3
    """The out-of-sample Sharpe must beat buy-and-hold's on the same candles by this much."""

    def describe(self) -> str:
        return (
            f"PBO <= {self.max_pbo:g}, deflated Sharpe >= {self.min_deflated_sharpe:g}, "
            f"out-of-sample Sharpe >= {self.min_oos_sharpe:g} and >= buy-and-hold's + "
            f"{self.min_margin_over_hold:g}, >= {self.min_folds} folds, lookahead and warm-up "
            "checks passed"
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
    hold = _number(evidence, "buy_and_hold_sharpe")
    if oos is not None and hold is None:
        misses.append("no buy-and-hold Sharpe to compare with")
    elif oos is not None and hold is not None and oos - hold < rule.min_margin_over_hold:
        misses.append(
            f"out-of-sample Sharpe {oos:.2f} does not beat buy-and-hold's {hold:.2f} by "
            f"{rule.min_margin_over_hold:g}"
        )
    checks = evidence.get("checks")
    if isinstance(checks, list):
        failed = [str(c.get("check")) for c in checks if isinstance(c, Mapping) and not c.get("ok")]
        if failed:
            misses.append(f"its {' and '.join(failed)} check failed")
    else:
        misses.append("no lookahead and warm-up checks on record (search it again)")
    return misses
