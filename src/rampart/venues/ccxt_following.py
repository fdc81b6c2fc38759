"""What a :class:`~rampart.venues.ccxt_venue.CcxtVenue` follows of the orders it sent, and when
it asks the exchange about them.

- :meth:`OrderFollowing.poll`, before each candle: the order streams' news, then the accounts
  due over REST (every account, or at the streams' slower pace where a stream is open);
- :meth:`OrderFollowing.follow_working`, between candles (a worker and ``rampart run`` call it
  every ``venue.follow_every_s``): the streams' news, and over REST only the accounts with an
  order under way (:func:`~rampart.venues.ccxt_orders.under_way`: a market entry the exchange
  fills in many trades over seconds, a partly filled order). Waiting for the next candle would leave
  those trades out of the books, and the stop at the first trade's size, for up to a candle
  (a minute), and for minutes on a worker whose candles are late. An account a
  candle's poll asked over REST less than ``follow_every_s`` ago is not asked again: else, on
  one-second candles, every order under way is asked twice a second, a third of a fleet's
  requests on an exchange that may answer 26-34 a second for all of it; a REST
  poll still comes at least every ``follow_every_s`` and a pass;
- the reconciliation's hooks: the orders followed, an order to follow from now on, a poll now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from rampart.clock import Clock
from rampart.domain.orders import Order, OrderStatus
from rampart.venues.ccxt_budget import paid_as, polling
from rampart.venues.ccxt_orders import OrderTracker, Tracked, under_way
from rampart.venues.ccxt_streaming import OrderStreams
from rampart.venues.ccxt_sync import OrderSync


class OrderFollowing:
    tracker: OrderTracker
    streams: OrderStreams
    sync: OrderSync
    clock: Clock
    wall: Callable[[], float]
    ready: Callable[[], Awaitable[None]]
    follow_every_s: float
    candle_polled: dict[str, float]
    """Per account, when (``wall``) a candle's poll last asked the exchange about its orders."""

    @paid_as(polling)  # skipped when the budget is short: it comes again
    async def poll(self) -> None:
        """Ask the exchange about every order sent and not yet finished; report what changed.
        Failures are logged and the orders stay tracked: the next poll asks again."""
        await self.streams.apply_received()  # the order streams' news, inside the candle
        if len(self.tracker) == 0:
            return
        now = self.clock.now_ms()
        due = self.streams.due(self.tracker, now)  # an open stream slows its account's polls
        if due is not None and not due:
            return
        await self.ready()
        await self.sync.poll(due)
        self.streams.polled(due, self.tracker, now)
        wall = self.wall()
        for account_id in due if due is not None else {t.account_id for t in self.tracker}:
            self.candle_polled[account_id] = wall

    @paid_as(polling)  # skipped when the budget is short: the next turn asks again
    async def follow_working(self) -> bool:
        """Between candles: apply what the order streams heard, and ask the exchange about the
        accounts with an order under way; True when any was asked. Each trade is reported
        once, as at a candle's poll (the same door: :meth:`OrderSync.absorb`)."""
        await self.streams.apply_received()
        wall = self.wall()
        asked = self.candle_polled
        working = {
            t.account_id
            for t in self.tracker
            if under_way(t)
            and wall - asked.get(t.account_id, -self.follow_every_s) >= self.follow_every_s
        }
        if not working:
            return False
        await self.ready()
        await self.sync.poll(working)
        return True

    # -- reconciliation hooks -----------------------------------------------------------------

    def tracked(self, account_id: str | None = None) -> list[Tracked]:
        """Orders this venue is following (open, or with an unconfirmed create or cancel)."""
        return self.tracker.for_account(account_id)

    def track(self, order: Order, *, unknown: bool = False) -> Tracked:
        """Follow an order sent before (a restart without a checkpoint, or one found by
        reconciliation): poll() then reports its fills and final state."""
        tracked = self.tracker.add(order, self.clock.now_ms(), self.wall())
        tracked.venue_order_id = tracked.venue_order_id or order.venue_order_id
        tracked.filled = max(tracked.filled, order.filled_qty)
        tracked.unknown = unknown or order.status is OrderStatus.UNKNOWN
        tracked.acknowledged = not tracked.unknown
        return tracked

    def following(self, account_id: str) -> dict[str, bool]:
        """Client ids of the orders poll() reports on, each mapped to whether this adapter
        holds it itself (an emulated leg, never sent to the exchange)."""
        return {t.client_id: t.local for t in self.tracker.for_account(account_id)}

    def follow(self, order: Order, booked_fill_ids: Iterable[str] = ()) -> None:
        """Report on ``order`` from now on; fills with these ids (``client_id:trade_id``) are
        already booked, so poll() reports only the ones after them (:meth:`Tracked.as_booked`)."""
        tracked = self.tracker.get(order.client_id) or self.track(order)  # flags kept as seen
        tracked.as_booked(order.filled_qty, booked_fill_ids)

    async def refresh(self, account_id: str | None = None) -> None:
        """Poll now, whatever the polling pace (reconciliation wants the latest news): one
        account's orders, or every account's."""
        if len(self.tracker) == 0:
            return
        await self.ready()
        await self.sync.poll(account_id)
        if account_id is None:
            self.streams.polled(None, self.tracker, self.clock.now_ms())


__all__ = ["OrderFollowing"]
