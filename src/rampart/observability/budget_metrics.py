"""The request budgets' gauges: how much of each exchange's limit an egress address has used,
what is left, and what the budget held back. Labels are the exchange and the address name,
never an account (every account on the address shares one budget).

Read at scrape time from the budgets this process shares
(:func:`rampart.venues.request_budget.shared_budgets`) and any handed to :meth:`watch`, so no
loop has to copy them; the in-service alert engine reads them from the same registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from rampart.venues.request_budget import shared_budgets

HEADROOM = "rampart_request_budget_headroom_ratio"
LABELS = ["exchange", "address"]


class BudgetMetrics(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.watched: list[Any] = []
        registry.register(self)

    def watch(self, budget: Any) -> None:
        """Report ``budget`` too (one this process did not share, or a test's)."""
        if budget not in self.watched:
            self.watched.append(budget)

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only: nothing to read at registration

    def collect(self) -> Iterator[Metric]:
        used = GaugeMetricFamily(
            "rampart_request_budget_used_ratio",
            "Share of the exchange's request limit (its busiest published limit) the address "
            "has used in the current window.",
            labels=LABELS,
        )
        headroom = GaugeMetricFamily(
            HEADROOM,
            "Share of the exchange's request limit left to the address: the lower of this "
            "window's and what the last window ended with.",
            labels=LABELS,
        )
        limit = GaugeMetricFamily(
            "rampart_request_budget_limit",
            "The exchange's request weight limit per window for the address (as published).",
            labels=LABELS,
        )
        held = CounterMetricFamily(
            "rampart_request_budget_held",
            "Requests the budget held back, by priority: waited for the next window, or "
            "refused (never sent).",
            labels=["exchange", "address", "priority", "outcome"],
        )
        refusals = CounterMetricFamily(
            "rampart_request_budget_exchange_refusals",
            "429 and 418 answers the exchange gave the address.",
            labels=LABELS,
        )
        seen: list[Any] = []
        for budget in [*shared_budgets(), *self.watched]:
            if any(budget is s for s in seen):
                continue
            seen.append(budget)
            names = [budget.exchange, budget.address]
            used.add_metric(names, budget.used_ratio())
            headroom.add_metric(names, budget.headroom())
            limit.add_metric(names, budget.limit())
            refusals.add_metric(names, budget.refusals)
            for (priority, outcome), count in sorted(budget.held.items()):
                held.add_metric([*names, priority, outcome], count)
        yield from (used, headroom, limit, held, refusals)


__all__ = ["HEADROOM", "BudgetMetrics"]
