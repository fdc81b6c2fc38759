"""Reconciliation's P1 alert (issue 54), kept apart from the runbook's levels in ``rules``.

OrderSettledFromHistory fires when reconciliation settled an order the venue could not settle
by its client order id: from the account's trade history, or, with no trade of it after a few
passes, by closing it as never placed. Before, such an order blocked its account's balance
comparison for good ("still unconfirmed") and the books drifted from the exchange unseen; now it
is settled, and an operator checks the judgement against the exchange.
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import IncreaseSignal

REPAIRS = "rampart_reconciliation_repairs_total"
SETTLED = "order_settled_from_history"
"""The repair kind (:data:`rampart.trading.reconcile.history.SETTLED`; observability does not
import trading)."""


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
    ]


__all__ = ["reconcile_rules"]
