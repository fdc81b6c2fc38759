"""The blue-green deploy's alert, kept apart from the runbook's levels in ``rules``.

DeployRolledBack (P1) fires while the last deploy is one its gates rolled back: the server
holding the ops lease saw a gate fail (at once for a P0 or P1 incident or a loss beyond
limit, after ``rollout.deploy.fail_checks`` checks in a row for a rate) and gave every shard
and the API traffic back to the old version. The fleet is safe on the old version; the new one
needs looking at before it is deployed again. It resolves when the next deploy starts.
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import GaugeSignal
from rampart.observability.deploy_metrics import LABELS, ROLLED_BACK


def deploy_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "DeployRolledBack",
            "P1",
            "The deploy of {new} was rolled back to {old} by its gates ({gate}): every shard "
            "and the API traffic went back to {old}; `rampart deploy status` says why.",
            GaugeSignal(ROLLED_BACK, by=LABELS),
            ">=",
            1,
            0,
        ),
    ]


__all__ = ["deploy_rules"]
