"""A venue that sends nothing once its worker's lease on the shard has run out.

A worker paused past its lease (a long garbage collection, a SIGSTOP, a partition) wakes up
with orders it meant to send; the shard is another worker's by then. Its store writes are
refused by the fencing token in the database (:meth:`ShardLeases.fence`); its orders are
refused here, by its own clock, before they leave the process: ``valid()`` is false from the
end of the lease it last renewed, whether or not anyone has taken the shard yet. Everything
else (reads, matching, polling) passes through to the venue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rampart.domain.errors import VenueError
from rampart.domain.orders import Order
from rampart.venues.send_guard import guarded

FENCED = "fenced"


class FencedVenue:
    def __init__(
        self, venue: Any, valid: Callable[[], bool], refused: Callable[[], None], shard: int
    ) -> None:
        self._venue = venue
        self._valid = valid
        self._refused = refused
        self._shard = shard

    def __getattr__(self, item: str) -> Any:
        return getattr(self._venue, item)

    def _check(self, what: str) -> None:
        if not self._valid():
            self._refused()
            raise VenueError(
                f"Not sent: this worker's lease on shard {self._shard} has run out, so the "
                f"{what} is left to the shard's next owner.",
                code=FENCED,
            )

    async def submit(self, order: Order) -> None:
        self._check("order")
        with guarded(partial(self._check, "order")):
            await self._venue.submit(order)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        self._check("protective pair")
        with guarded(partial(self._check, "protective pair")):
            await self._venue.submit_oco(stop_loss, take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        self._check("cancel")
        with guarded(partial(self._check, "cancel")):
            await self._venue.cancel(account_id, client_id)


__all__ = ["FENCED", "FencedVenue"]
