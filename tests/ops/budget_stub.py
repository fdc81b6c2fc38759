"""A request budget as the budget gauges read it, for the alert rule tests."""

from __future__ import annotations

from rampart.observability.metrics import Metrics


class StubBudget:
    """What the request budget gauges read of a budget (rampart.observability.budget_metrics)."""

    exchange, address, refusals = "binance", "default", 0

    def __init__(self) -> None:
        self.left = 1.0
        self.held: dict[tuple[str, str], int] = {}
        self.spent: dict[str, float] = {}
        self.borrowed: dict[str, float] = {}
        self.waited_s: dict[str, float] = {}

    def headroom(self) -> float:
        return self.left

    def used_ratio(self) -> float:
        return 1.0 - self.left

    def limit(self) -> float:
        return 6000.0

    def lane_used_ratio(self, row: str) -> float:
        return 1.0 - self.left


def set_headroom(metrics: Metrics, left: float) -> None:
    """Show one budget with this share of its weight left in the request budget gauges."""
    watched = metrics.budget.watched
    if not watched:
        watched.append(StubBudget())
    watched[0].left = left
