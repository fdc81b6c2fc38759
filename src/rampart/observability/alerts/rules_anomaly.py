"""The anomaly detector's alerts, kept apart from the runbook's levels in ``rules``.

Each anomaly (``risk/anomalies.py``: a fill off the mark, a PnL jump, money no fill explains,
a burst of rejections, cancels or orders) is held as ``rampart_anomaly_active{account, kind,
figures}`` for ``alerts.anomalies.hold_s`` on the orders' clock: one account's problem, a P2
whose summary carries the figures. The same kind on several accounts at once points at
something they share (the venue, the feed, a release): a P1.
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import GaugeSignal
from rampart.observability.anomaly_watch import ACCOUNTS, ACTIVE

WIDESPREAD_ACCOUNTS = 3
"""Accounts with one kind of anomaly at once that make it service-wide: two can share a bad
minute by chance, three on one kind within an hour rarely do (incident-levels.md)."""


def anomaly_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "AnomalyWidespread",
            "P1",
            "Anomalies of kind {kind} on at least {threshold} accounts at once: something they "
            "share (the venue, the feed, a release) is wrong.",
            GaugeSignal(ACCOUNTS, by=("kind",)),
            ">=",
            WIDESPREAD_ACCOUNTS,
            0,
        ),
        AlertRule(
            "AnomalyDetected",
            "P2",
            "Account {account}: {kind} anomaly, {figures}.",
            GaugeSignal(ACTIVE, by=("account", "kind", "figures")),
            ">=",
            1,
            0,
        ),
    ]


__all__ = ["WIDESPREAD_ACCOUNTS", "anomaly_rules"]
