"""The wall run's ledger of the engine's orders and fills, journaled so that a restart from the
last checkpoint takes back what the engine did after it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rampart.domain.events import Event, FillBooked, OrderUpdated, ReconciliationRepaired
from rampart.domain.orders import OrderStatus
from rampart.trading.reconcile.books import seq_of
from rampart_testkit.soak.remote_venue import RunLedger


@dataclass
class JournaledLedger(RunLedger):
    """The run's record of the engine's orders and fills, taken back to the last checkpoint
    when the engine restarts from it (what it did since, it does again or reconciliation finds
    it), as the accelerated soak's record is."""

    undo: list[tuple[str, str, Any]] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        added: tuple[str, int] | None = None
        if (
            isinstance(event, OrderUpdated)
            and event.previous is OrderStatus.NEW
            and event.order.status is OrderStatus.NEW
        ):
            added = (event.order.account_id, seq_of(event.order.client_id))
            self.undo.append(("registered", "", None))
        elif (
            isinstance(event, ReconciliationRepaired)
            and event.kind == "order_adopted"
            and event.client_id
        ):
            added = (event.account_id, seq_of(event.client_id))
        elif isinstance(event, FillBooked):
            trade = event.fill.fill_id.rsplit(":", 1)[-1]
            self.undo.append(("fill", event.fill.account_id, trade))
        if added is not None and added[1] not in self.orders.get(added[0], set()):
            self.undo.append(("order", *added))
        super().__call__(event)

    def mark(self) -> None:
        """A checkpoint was saved: nothing before it is undone."""
        self.undo.clear()

    def rollback(self) -> None:
        for kind, account_id, key in reversed(self.undo):
            if kind == "registered":
                self.orders_registered -= 1
            elif kind == "order":
                self.orders[account_id].discard(key)
            else:
                self.fills_booked -= 1
                self.fills[account_id][key] -= 1
                if self.fills[account_id][key] <= 0:
                    del self.fills[account_id][key]
        self.undo.clear()


__all__ = ["JournaledLedger"]
