"""The take-profit leg of an emulated OCO (bracket mode ``stop``), held here until the last
price reaches it: the stop on the exchange is canceled first, as an OCO would, then the
take-profit sells at market under its own client order id. Moved out of
:mod:`rampart.venues.ccxt_sync`, whose :class:`~rampart.venues.ccxt_sync.OrderSync` it drives.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.orders import OrderStatus
from rampart.venues import ccxt_mapping as mapping
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_errors import Kind, Op
from rampart.venues.ccxt_orders import Tracked

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.venues.ccxt_accounts import CcxtClients
    from rampart.venues.ccxt_errors import CcxtCaller
    from rampart.venues.ccxt_orders import OrderTracker

NOT_FOUND = Kind.NOT_FOUND.value


class Sync(Protocol):
    """What the held take-profit drives (:class:`~rampart.venues.ccxt_sync.OrderSync` is
    one). Named here, not imported: the order sync calls this module, so it does not read the
    sync's module back."""

    @property
    def tracker(self) -> OrderTracker: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def wall(self) -> Callable[[], float]: ...

    @property
    def clients(self) -> CcxtClients: ...

    @property
    def caller(self) -> CcxtCaller: ...

    def holding(self) -> AbstractContextManager[None]: ...

    def report(
        self, t: Tracked, status: OrderStatus, *, code: str = "", reason: str = ""
    ) -> None: ...

    def finish(self, t: Tracked) -> None: ...

    async def absorb(self, t: Tracked, order: dict[str, Any]) -> None: ...

    async def refresh(self, t: Tracked) -> None: ...

    async def cancel_call(self, t: Tracked) -> dict[str, Any]: ...


async def send_held_take_profit(sync: Sync, take: Tracked) -> None:
    """Emulated OCO: cancel the stop, then sell at market under the take-profit's id."""
    stop = sync.tracker.get(take.partner) if take.partner else None
    result: dict[str, Any] | None = None
    if stop is not None and not stop.local:
        try:
            result = await sync.cancel_call(stop)
        except OutcomeUnknown:
            stop.cancel_wanted = True
            return
        except VenueError as exc:
            if exc.code != NOT_FOUND:
                raise
            await sync.refresh(stop)  # the stop already finished: that settles the pair
            return
    take.local, take.trigger_above, take.acknowledged = False, None, False
    take.sent_ts, take.sent_wall = sync.clock.now_ms(), sync.wall()
    with sync.holding():
        if stop is not None and result is not None:
            stop.cancel_wanted = False
            await sync.absorb(stop, result)
        client = sync.clients.client(take.account_id)
        params = {"clientOrderId": take.client_id}
        try:
            answer = await sync.caller.call(
                client,
                "create_order",
                Op.CREATE,
                lambda: client.create_order(
                    take.symbol, "market", "sell", float(take.qty), None, params
                ),
                check=mapping.check_order,
                lane=Lane.PROTECT,  # a take-profit leg, even inside a poll
            )
        except OutcomeUnknown:
            take.unknown = True
            return
        except VenueError as exc:
            if exc.code == Kind.DUPLICATE.value:
                await sync.refresh(take)
                return
            sync.report(take, OrderStatus.REJECTED, code=exc.code, reason=exc.message)
            sync.finish(take)
            return
        await sync.absorb(take, answer)


__all__ = ["send_held_take_profit"]
