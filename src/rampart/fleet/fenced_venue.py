"""A venue that sends nothing once its worker's lease on the shard has run out.

A worker paused past its lease (a long garbage collection, a SIGSTOP, a partition) wakes up
with orders it meant to send; the shard is another worker's by then. Its store writes are
refused by the fencing token in the database (:meth:`ShardLeases.fence`); its orders are
refused here, by its own clock, before they leave the process: ``valid()`` is false from the
end of the lease it last renewed, whether or not anyone has taken the shard yet. Everything
else (reads, matching, polling) passes through to the venue.

One exception keeps the coins held covered while the database does not answer: the
stop-loss and take-profit legs of positions already held (the cancels of such legs, which
a re-placed pair needs, and the amendments of a resting pair in place) and the market sells
of held coins (the position monitor's exit when a price crosses a stop that cannot rest, an
exit the agent asked for) pass while
``protect()`` says so, which :meth:`~rampart.store.leases.ShardLeases.protects` bounds to the
renewals failing on the database and a grace past the lease's end. Entries never pass on it.
The legs' client ids are derived from the position and its generation, so a copy a second
holder sends is refused by the exchange as a duplicate; a sell a second holder sends too can
only sell coins the account holds, which on spot is never twice (docs/operators/scale.md, "The
database away").
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from rampart.domain.errors import VenueError
from rampart.domain.orders import Order, OrderRole, Side, is_protective_id
from rampart.venues.send_guard import guarded

FENCED = "fenced"
_PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


def _covers(order: Order) -> bool:
    """An order that protects coins held: a leg of their pair, or a market sell of them."""
    return order.role in _PROTECTIVE or (order.role is OrderRole.EXIT and order.side is Side.SELL)


class FencedVenue:
    def __init__(
        self,
        venue: Any,
        valid: Callable[[], bool],
        refused: Callable[[], None],
        shard: int,
        protect: Callable[[], bool] | None = None,
    ) -> None:
        self._venue = venue
        self._valid = valid
        self._refused = refused
        self._shard = shard
        self._protect = protect

    def __getattr__(self, item: str) -> Any:
        return getattr(self._venue, item)

    def _check(self, what: str, protective: bool = False) -> None:
        if self._valid():
            return
        if protective and self._protect is not None and self._protect():
            return  # the database away: the coins held stay covered
        self._refused()
        if self._protect is not None and not protective and self._protect():
            raise VenueError(
                f"Not sent: this worker's lease on shard {self._shard} cannot be renewed while "
                f"the database does not answer, so only protective orders and sales of coins "
                f"already held go out; the {what} waits for the database.",
                code=FENCED,
            )
        raise VenueError(
            f"Not sent: this worker's lease on shard {self._shard} has run out, so the "
            f"{what} is left to the shard's next owner.",
            code=FENCED,
        )

    async def submit(self, order: Order) -> None:
        check = partial(self._check, "order", _covers(order))
        check()
        with guarded(check):
            await self._venue.submit(order)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        check = partial(self._check, "protective pair", True)
        check()
        with guarded(check):
            await self._venue.submit_oco(stop_loss, take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        check = partial(self._check, "cancel", is_protective_id(client_id))
        check()
        with guarded(check):
            await self._venue.cancel(account_id, client_id)

    async def amend_oco(
        self,
        account_id: str,
        stop_id: str,
        take_id: str,
        remaining: Decimal,
        *,
        stop_price: Decimal | None = None,
        take_price: Decimal | None = None,
    ) -> None:
        """Re-size or move a resting pair in place: it changes the pair's own orders under
        their own ids, never places one, so it covers coins held as the pair does when both
        ids are a pair's (a second holder's amend changes the same orders, not a copy)."""
        covers = is_protective_id(stop_id) and is_protective_id(take_id)
        check = partial(self._check, "amendment of a pair", covers)
        check()
        with guarded(check):
            await self._venue.amend_oco(
                account_id,
                stop_id,
                take_id,
                remaining,
                stop_price=stop_price,
                take_price=take_price,
            )


__all__ = ["FENCED", "FencedVenue"]
