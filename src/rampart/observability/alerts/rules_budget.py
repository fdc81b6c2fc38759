"""The request budget's alert, kept apart from the runbook's levels in ``rules``.

RequestBudgetLow (P1) fires while an egress address has had less than 10 % of an exchange's
request limit left for a minute. Rampart's own traffic spends the limit in lanes (market data,
protective orders, reconciliation reads, entries) and the lanes that are mostly idle keep
their shares: what takes an address below it is every lane busy at once, or requests the
budget does not see (another program, a worker without the budget, a lower limit than
published) showing in the exchange's used-weight headers. Past
the limit the exchange answers 429, and bans (418) an address that keeps sending: every account
on it stops trading at once.
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import GaugeSignal
from rampart.observability.budget_metrics import HEADROOM


def budget_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "RequestBudgetLow",
            "P1",
            "Less than {threshold} of {exchange}'s request limit is left to address {address}: "
            "polling and entries are held back, and past the limit the exchange bans the "
            "address (HTTP 418) for every account on it.",
            GaugeSignal(HEADROOM, by=("exchange", "address"), agg="min"),
            "<",
            0.10,
            60,
            unit="ratio",
            step=0.01,
        ),
    ]


__all__ = ["budget_rules"]
