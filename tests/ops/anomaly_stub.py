"""The anomaly rules' drivers for the rule harness (``alert_drivers.DRIVERS``): fire, quiet
(on the threshold) and clear, on the anomaly series the service adds beside ``Metrics``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rampart.observability.anomaly_watch import AnomalyMetrics

_METRICS: dict[int, AnomalyMetrics] = {}


def _anomalies(h: Any) -> AnomalyMetrics:
    key = id(h.metrics.registry)
    if key not in _METRICS:
        _METRICS[key] = AnomalyMetrics(h.metrics.registry)
    return _METRICS[key]


def _accounts(h: Any, n: int) -> None:
    _anomalies(h).accounts.labels(kind="fill_off_mark").set(n)


def _active(h: Any, value: float) -> None:
    _anomalies(h).active.labels(account="a1", kind="pnl_jump", figures="equity -9 %").set(value)


Action = Callable[[Any], None]
ANOMALY_ACTIONS: dict[str, tuple[Action, Action, Action]] = {
    "AnomalyWidespread": (
        lambda h: _accounts(h, 3),
        lambda h: _accounts(h, 2),
        lambda h: _accounts(h, 0),
    ),
    "AnomalyDetected": (
        lambda h: _active(h, 1),
        lambda h: _active(h, 0),
        lambda h: _anomalies(h).active.clear(),
    ),
}
