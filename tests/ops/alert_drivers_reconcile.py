"""Drivers of reconciliation's P1 rule (issue 54) for the alert harness: one order settled from
the trade history fires it; repairs of any other kind are its quiet side."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rampart.domain.events import ReconciliationRepaired

if TYPE_CHECKING:
    from tests.ops.alert_helpers import Driver, Harness


def _repair(kind: str) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        h.metrics.on_event(ReconciliationRepaired(0, "a1", kind, "c0", "BTC/USDT", "repaired"))

    return act


def reconcile_drivers(
    driver: type[Driver], nothing: Callable[[Harness], None]
) -> dict[str, Driver]:
    settled = _repair("order_settled_from_history")
    return {
        "OrderSettledFromHistory": driver(
            fire=settled,
            sustain_fire=settled,
            quiet=_repair("fill_booked"),  # another kind: counted, not this rule's
            clear=nothing,
            windowed=True,
        ),
    }
