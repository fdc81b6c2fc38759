"""Drivers of reconciliation's rules for the alert harness: one order settled from the trade
history fires the P1, repairs of any other kind are its quiet side; an account's
books differing after the repairs of 4 passes in a row fires the P0, 3 do not."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rampart.domain.events import BooksDiffer, ReconciliationRepaired

if TYPE_CHECKING:
    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness


def _repair(kind: str) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        h.metrics.on_event(ReconciliationRepaired(0, "a1", kind, "c0", "BTC/USDT", "repaired"))

    return act


def _passes(n: int) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        h.metrics.on_event(BooksDiffer(0, "a1", n, "BTC: books 0.5, venue 0.4"))

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
        "BooksDifferUnrepaired": driver(fire=_passes(4), quiet=_passes(3), clear=_passes(0)),
    }
