"""Whether a saved setting's research evidence meets the operator's thresholds (GO/NO-GO's
evidence criterion, from the ``limited`` stage on by default: ``rollout.evidence``).

The evidence is what ``rampart optimize --save`` stored (``rampart.research.analysis``): the
walk-forward folds, the PBO pooled over them, the chosen setting's deflated Sharpe ratio and
the out-of-sample Sharpe. Pure: a mapping in, a verdict and its reasons out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
            "checks passed on the code traded"
        )


def _number(evidence: Mapping[str, object], key: str) -> float | None:
    value = evidence.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


CHECKS = ("lookahead", "warm-up")
"""The checks evidence must have passed, on the code the account trades."""


def judge(
    evidence: Mapping[str, object],
    rule: EvidenceRule,
    code: str | None = None,
    inputs: Sequence[Mapping[str, object]] | None = None,
) -> list[str]:
    """Every way the evidence misses the rule, in words; empty when it meets it. ``code``: the
    hash of the agent's code now: checks run on other code do not count. ``inputs``: the span
    each declared input of the agent states now (``rampart.agents.spans``: ``file``, ``to``);
    None reads the ones recorded with the evidence."""
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
    misses.extend(_checks(evidence.get("checks"), code))
    misses.extend(_inputs(evidence, inputs))
    return misses


def _inputs(
    evidence: Mapping[str, object], inputs: Sequence[Mapping[str, object]] | None
) -> list[str]:
    """An input with no stated span is unverified, and an agent with one is not promoted;
    evidence counts only out-of-sample candles after every input's span ends."""
    if inputs is None:
        recorded = evidence.get("inputs")
        listed = recorded if isinstance(recorded, list) else []
        inputs = [i for i in listed if isinstance(i, Mapping)]
    misses: list[str] = []
    starts = [evidence.get("out_of_sample_from")]
    files = evidence.get("files")
    if isinstance(files, list):
        starts += [f.get("out_of_sample_from") for f in files if isinstance(f, Mapping)]
    known = [int(s) for s in starts if isinstance(s, int | float) and not isinstance(s, bool)]
    start = min(known) if known else None
    for item in inputs:
        name, end = item.get("file"), item.get("to")
        if not isinstance(end, int | float) or isinstance(end, bool):
            misses.append(
                f"its input {name} is unverified (it states no span it was computed or trained "
                "on): an agent with an unverified input is not promoted"
            )
        elif start is None:
            misses.append(
                f"its evidence does not say where its out-of-sample candles start, so it cannot "
                f"be shown to come after {name}'s span (search it again)"
            )
        elif start <= end:
            misses.append(
                f"its out-of-sample candles start inside {name}'s span, which {name} was made "
                "from: only candles after it count (search it again on later candles)"
            )
    return misses


def judge_checks(checks: object, code: str | None) -> str | None:
    """Why ``checks`` (evidence's list) do not vouch for the agent's code ``code``."""
    found = _checks(checks, code)
    return found[0] if found else None


def _checks(checks: object, code: str | None) -> list[str]:
    if not isinstance(checks, list) or not checks:
        return ["no lookahead and warm-up checks on record (search it again)"]
    found = {str(c.get("check")): c for c in checks if isinstance(c, Mapping)}
    failed = [name for name, c in found.items() if not c.get("ok")]
    if failed:
        return [f"its {' and '.join(failed)} check failed"]
    skipped = [name for name in CHECKS if name not in found]
    if skipped:
        return [f"no {' and '.join(skipped)} check on record (search it again)"]
    if code is not None:
        ran = {str(found[name].get("code") or "") for name in CHECKS}
        if ran != {code}:
            seen = ", ".join(sorted(c[:12] or "none recorded" for c in ran))
            return [
                f"its checks ran on other code of the agent ({seen}; now {code[:12]}): "
                "search it again"
            ]
    return []
