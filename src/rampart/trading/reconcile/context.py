"""Reconciliation: what one pass shares among its steps, and how it records what it did.

A :class:`ReconcileReport` is the outcome of one pass. A :class:`RunContext` holds the facts
every step of that pass reads (the engine, the venue, the pass's time and how far back it
looks) and is the one place a step records a repair or a remaining difference, so every
repair is logged, published as a :class:`ReconciliationRepaired` event and counted the same
way whichever step made it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import structlog

from rampart.domain.events import ReconciliationRepaired
from rampart.domain.orders import OrderStatus
from rampart.trading.ports import ReconcilableVenue, VenueReport

if TYPE_CHECKING:
    from rampart.trading.engine import Engine

log = structlog.get_logger("rampart.reconcile")

FILL_MARGIN_MS = 60_000
"""Fills are fetched from this long before the order was created (clock differences)."""


@dataclass
class ReconcileReport:
    ts: int
    accounts: list[str]
    reason: str = "interval"
    repairs: Counter[str] = field(default_factory=Counter)
    """Repairs applied, by kind."""
    differences: list[str] = field(default_factory=list)
    """What still differs from the venue after the repairs, in words (empty: books match)."""

    @property
    def matches(self) -> bool:
        return not self.differences

    @property
    def total_repairs(self) -> int:
        return sum(self.repairs.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "reason": self.reason,
            "accounts": len(self.accounts),
            "repairs": dict(self.repairs),
            "matches": self.matches,
            "differences": list(self.differences),
        }


class RunContext:
    """One reconciliation pass: the facts its steps share, and its record of repairs."""

    def __init__(
        self,
        engine: Engine,
        report: ReconcileReport,
        *,
        lookback_ms: int,
        recent_lookback_ms: int,
        tolerance: Decimal,
    ) -> None:
        self.engine = engine
        # Only made for an engine whose capabilities include reconciliation.
        self.venue = cast(ReconcilableVenue, engine.venue)
        self.report = report
        self.now = engine.clock.now_ms()
        self.adopt_any_age = report.reason == "start"
        """At start the books may have lost orders of any age (sent after the last saved
        state); a running engine can only have just lost one."""
        self.lookback_ms = lookback_ms if self.adopt_any_age else recent_lookback_ms
        self.tolerance = tolerance

    # -- recording ----------------------------------------------------------------------------

    def repair(
        self, account_id: str, kind: str, detail: str, client_id: str | None, symbol: str | None
    ) -> None:
        self.report.repairs[kind] += 1
        log.info(
            "reconciliation_repair",
            account_id=account_id,
            kind=kind,
            order=client_id,
            symbol=symbol,
            detail=detail,
        )
        self.engine.bus.publish(
            ReconciliationRepaired(self.now, account_id, kind, client_id, symbol, detail)
        )

    def differ(self, account_id: str, text: str) -> None:
        self.report.differences.append(f"{account_id}: {text}")

    def deliver(self, report: VenueReport) -> None:
        """Queue a report exactly as the venue would have delivered it."""
        self.engine.executor.deliver(report)

    def classify_queue(self) -> None:
        """Name the repairs among the reports the venue queued while catching up."""
        resolved: set[str] = set()
        for rep in self.engine.executor.pending():
            acct = self.engine.accounts.get(rep.account_id)
            order = acct.orders.get(rep.client_id) if acct else None
            if acct is None or order is None:
                continue
            if rep.fill is not None:
                fill = rep.fill
                self.repair(
                    acct.account_id,
                    "fill_booked",
                    f"{fill.side.value} {fill.qty} at {fill.price} (fee {fill.fee}) on "
                    f"{order.role.value} order {order.client_id} happened on the venue and "
                    "was not yet booked.",
                    order.client_id,
                    order.symbol,
                )
            elif order.status is OrderStatus.UNKNOWN and rep.status is not OrderStatus.UNKNOWN:
                if order.client_id in resolved:
                    continue
                resolved.add(order.client_id)
                self.repair(
                    acct.account_id,
                    "order_unknown_resolved",
                    f"Order {order.client_id} was unknown; the venue says it is "
                    f"{rep.status.value}.",
                    order.client_id,
                    order.symbol,
                )
            elif rep.status.terminal and rep.client_id not in acct.pending_cancel:
                self.repair(
                    acct.account_id,
                    "order_closed",
                    f"Order {order.client_id} is {rep.status.value} on the venue"
                    + (" (canceled there by hand)." if rep.status is OrderStatus.CANCELED else "."),
                    order.client_id,
                    order.symbol,
                )
