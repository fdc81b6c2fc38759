"""The request budgets' gauges: how much of each exchange's limit an egress address has used,
what is left, what the budget held back, and per lane (market, protect, reconcile, entry; and
the spare pool) what was spent and waited for. Labels are the exchange and the address name,
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

from rampart.venues.budget_lanes import ROWS
from rampart.venues.request_budget import shared_budgets

HEADROOM = "rampart_request_budget_headroom_ratio"
LABELS = ["exchange", "address"]
LANE_LABELS = [*LABELS, "lane"]


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
            "Requests the budget held back, by lane: waited for the next window, or refused "
            "(never sent).",
            labels=[*LANE_LABELS, "outcome"],
        )
        lane_used = GaugeMetricFamily(
            "rampart_request_budget_lane_used_ratio",
            "Share of a lane's reservation (or of the spare pool, lane=spare) used in the "
            "current window, by every worker on the address, as last known here.",
            labels=LANE_LABELS,
        )
        spent = CounterMetricFamily(
            "rampart_request_budget_lane_spent",
            "Request weight this process spent per lane; borrowed=yes is what came from the "
            "spare pool.",
            labels=[*LANE_LABELS, "borrowed"],
        )
        waited = CounterMetricFamily(
            "rampart_request_budget_lane_waited_seconds",
            "Seconds this process's requests of each lane waited for room in the budget.",
            labels=LANE_LABELS,
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
            for (lane, outcome), count in sorted(budget.held.items()):
                held.add_metric([*names, lane, outcome], count)
            for row in ROWS:
                lane_used.add_metric([*names, row], budget.lane_used_ratio(row))
            for lane, weight in sorted(budget.spent.items()):
                borrowed = budget.borrowed.get(lane, 0.0)
                spent.add_metric([*names, lane, "no"], weight - borrowed)
                spent.add_metric([*names, lane, "yes"], borrowed)
            for lane, seconds in sorted(budget.waited_s.items()):
                waited.add_metric([*names, lane], seconds)
        yield from (used, headroom, limit, held, refusals, lane_used, spent, waited)


__all__ = ["HEADROOM", "BudgetMetrics"]
