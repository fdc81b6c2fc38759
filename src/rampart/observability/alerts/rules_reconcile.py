"""Reconciliation's P1 alert and its P0, kept apart from the runbook's
levels in ``rules``.

OrderSettledFromHistory fires when reconciliation settled an order the venue could not settle
by its client order id: from the account's trade history, or, with no trade of it after a few
passes, by closing it as never placed. Before, such an order blocked its account's balance
comparison for good ("still unconfirmed") and the books drifted from the exchange unseen; now it
is settled, and an operator checks the judgement against the exchange.

BooksDifferUnrepaired (P0, plan 003's state inconsistency at the top level) fires when an
account's books still differed from the exchange after the repairs of
:data:`UNREPAIRED_PASSES` passes in a row: one more than an unconfirmed order waits before it
is settled from the trade history, so a difference reconciliation repairs in time never
pages; what is left is one it cannot repair, and its account trades on books that are wrong.
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import GaugeSignal, IncreaseSignal

REPAIRS = "rampart_reconciliation_repairs_total"
SETTLED = "order_settled_from_history"
"""The repair kind (:data:`rampart.trading.reconcile.history.SETTLED`; observability does not
import trading)."""
UNREPAIRED = "rampart_reconciliation_unrepaired_passes"
UNREPAIRED_PASSES = 4
"""``SETTLE_AFTER_PASSES`` (3) + 1: 20 minutes at the default 5-minute reconciliation."""


def reconcile_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "OrderSettledFromHistory",
            "P1",
            "Reconciliation settled at least {threshold} order in {window} that the venue could "
            "not settle by client order id: from the trade history, or closed as never placed.",
            IncreaseSignal(REPAIRS, 600, match={"kind": SETTLED}),
            ">=",
            1,
            0,
        ),
        AlertRule(
            "BooksDifferUnrepaired",
            "P0",
            "The books of account {account} still differed from the exchange after the repairs "
            "of {threshold} reconciliation passes in a row: a state inconsistency "
            "reconciliation cannot repair; pause the account and compare by hand.",
            GaugeSignal(UNREPAIRED, by=("account",)),
            ">=",
            UNREPAIRED_PASSES,
            0,
        ),
    ]


__all__ = ["reconcile_rules"]
