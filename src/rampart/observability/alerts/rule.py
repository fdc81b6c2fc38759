"""One alert rule: what to measure (a signal), how to compare it with a threshold, for how long
the condition must hold, and how serious it is (P0 respond at once, P1 within 30 minutes, P2
within 4 hours). The same object renders the PromQL exported to Prometheus, so the two can
never drift apart. The default rules are in :mod:`~rampart.observability.alerts.rules`.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rampart.observability.alerts.signals import Signal, fmt_number, human_duration
from rampart.store.models.columns import ID, NAME

KEY_LIMIT = ID
"""The longest incident key: the width of ``incidents.key`` and ``alert_pending.key``."""
DIGEST = 16
"""Hex digits of the label digest that keeps a shortened key unique."""

SEVERITIES = ("P0", "P1", "P2")
RESPONSE = {"P0": "respond at once", "P1": "respond within 30 minutes", "P2": "within 4 hours"}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    severity: str
    summary: str
    """One sentence; ``{label}`` names a label of the firing series, ``{threshold}`` the limit,
    ``{lasting}`` how long it must hold (``for_s``) in words."""
    signal: Signal
    comparison: str
    threshold: float
    for_s: float
    unit: str = ""
    """How values read: ``ratio`` as a percentage, ``s`` as seconds, else a plain number."""
    step: float = 1.0
    """The smallest meaningful change of the value: rule tests go this far past the threshold."""
    enabled: bool = True

    @property
    def labels(self) -> tuple[str, ...]:
        by = getattr(self.signal, "by", ())
        return tuple(by)

    def __post_init__(self) -> None:
        # Past this, the rule column cannot hold the name and no key could carry labels.
        if len(self.name) > NAME:
            raise ValueError(f"An alert rule's name has at most {NAME} characters: {self.name}")

    def holds(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)

    def key(self, labels: Mapping[str, str]) -> str:
        """The incident's key: ``Name{k=v,...}``, at most :data:`KEY_LIMIT` characters.

        Labels too long for the column (a long worker or symbol name) keep their first
        characters and end in a digest of the whole key, so two series still never share a
        key and the key still starts with the rule's name (what the engine finds it by). The
        labels themselves are stored whole in their own column."""
        if not labels:
            return self.name
        inner = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        full = f"{self.name}{{{inner}}}"
        if len(full) <= KEY_LIMIT:
            return full
        digest = hashlib.sha256(full.encode()).hexdigest()[:DIGEST]
        room = KEY_LIMIT - len(self.name) - len("{~#}") - DIGEST
        return f"{self.name}{{{inner[:room]}~#{digest}}}"

    @property
    def expr(self) -> str:
        return f"({self.signal.promql()}) {self.comparison} {fmt_number(self.threshold)}"

    def _format(self, values: Mapping[str, str]) -> str:
        window = self.signal.window()
        return self.summary.format(
            threshold=human(self.threshold, self.unit),
            window=human_duration(window) if window else "",
            lasting=human_duration(self.for_s),
            min_samples=getattr(self.signal, "min_samples", ""),
            **values,
        )

    def describe(self, labels: Mapping[str, str]) -> str:
        return self._format({name: labels.get(name, "?") for name in self.labels})

    def annotation(self) -> str:
        """The summary as a Prometheus template: labels become ``{{ $labels.x }}``."""
        return self._format({name: f"{{{{ $labels.{name} }}}}" for name in self.labels})

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "severity": self.severity,
            "summary": self.describe({k: f"<{k}>" for k in self.labels}),
            "comparison": self.comparison,
            "threshold": self.threshold,
            "for_s": self.for_s,
            "unit": self.unit,
            "window_s": self.signal.window() or None,
            "min_samples": getattr(self.signal, "min_samples", None),
            "labels": list(self.labels),
            "enabled": self.enabled,
            "expr": self.expr,
        }


def human(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value * 100:g} %"
    if unit == "s":
        return f"{value * 1000:g} ms" if 0 < abs(value) < 1 else f"{value:g} s"
    return f"{value:g}"


__all__ = ["COMPARISONS", "RESPONSE", "SEVERITIES", "AlertRule", "human"]
