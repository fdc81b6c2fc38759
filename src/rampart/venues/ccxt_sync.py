"""Learning what happened to the orders a :class:`~rampart.venues.ccxt_venue.CcxtVenue` sent.

The venue owns its :class:`OrderSync` and hands it what it reads (the clients, the markets,
the call wrapper, the tracked orders, the clocks); the sync holds no reference back to the
venue, and reports go to the listener the venue sets on it.

Every answer about an order (a create's response, an open-orders listing, a lookup by client
order id, a cancel's response) goes through :meth:`OrderSync.absorb`, which reports to the
engine only what is new: the first acknowledgement, each trade once (by trade id, with the
exchange's price and fee), then the final status. An order whose create was not confirmed
(``unknown``) is looked up by its client order id: found → its real state; not found once the
exchange's receive window has passed → it never arrived, and is reported REJECTED.

Within one poll, reports are delivered acknowledgements first, then fills, then final
statuses: a leg that expired because its OCO partner filled is applied after that fill.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

import structlog

from rampart.clock import Clock
from rampart.domain.errors import OutcomeUnknown, RampartError, VenueError
from rampart.domain.fills import Fill
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderStatus, Side
from rampart.trading.ports import VenueListener, VenueReport
from rampart.venues import ccxt_mapping as mapping
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_accounts import CcxtClients, CcxtMarkets
from rampart.venues.ccxt_errors import CcxtCaller, Kind, Op
from rampart.venues.ccxt_fees import FeePrices, check_ticker
from rampart.venues.ccxt_held_take import send_held_take_profit
from rampart.venues.ccxt_orders import OrderTracker, Tracked

log = structlog.get_logger("rampart.venues.ccxt")

NOT_FOUND = Kind.NOT_FOUND.value
VANISHED_AFTER = 3
"""Polls in a row an acknowledged order may be missing (neither listed open nor found by its
client order id) before it is closed as gone from the exchange."""


_HELD: ContextVar[tuple[OrderSync, list[VenueReport]] | None] = ContextVar(
    "rampart_sync_held", default=None
)
"""The reports :meth:`OrderSync.holding` collects, per task: a reconciliation polls several
accounts side by side (each poll delivers its own, in its own order)."""


def _ignore(report: VenueReport) -> None:
    del report


class OrderSync:
    def __init__(
        self,
        *,
        exchange_id: str,
        clients: CcxtClients,
        markets: CcxtMarkets,
        caller: CcxtCaller,
        tracker: OrderTracker,
        clock: Clock,
        wall: Callable[[], float],
        unknown_grace_ms: int,
    ) -> None:
        """``wall`` and ``unknown_grace_ms``: as the venue's ``wall`` and ``unknown_grace_s``."""
        self.name = exchange_id
        self.exchange_id = exchange_id
        self.clients = clients
        self.markets = markets
        self.caller = caller
        self.tracker = tracker
        self.clock = clock
        self.wall = wall
        self.unknown_grace_ms = unknown_grace_ms
        self.listener: VenueListener = _ignore
        """Where reports go (the engine's executor, set through the venue's port)."""
        self.fee_prices = FeePrices(exchange_id, caller, clock)

    def emit(self, report: VenueReport) -> None:
        self.listener(report)

    # -- reports ------------------------------------------------------------------------------

    def report(
        self,
        t: Tracked,
        status: OrderStatus,
        *,
        fill: Fill | None = None,
        code: str = "",
        reason: str = "",
    ) -> None:
        report = VenueReport(
            t.account_id,
            t.client_id,
            status,
            self.clock.now_ms(),
            fill,
            t.venue_order_id,
            code,
            reason,
        )
        held = _HELD.get()
        if held is not None and held[0] is self:
            held[1].append(report)
        else:
            self.emit(report)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Collect reports and deliver them at the end: acknowledgements, fills, final states."""
        before = _HELD.get()
        outer = before[1] if before is not None and before[0] is self else None
        held: list[VenueReport] = []
        token = _HELD.set((self, held))
        try:
            yield
        finally:
            _HELD.reset(token)

            def rank(r: VenueReport) -> int:
                if r.fill is not None:
                    return 1
                return 2 if r.status.terminal else 0

            for report in sorted(held, key=rank):
                if outer is not None:
                    outer.append(report)
                else:
                    self.emit(report)

    def finish(self, t: Tracked) -> None:
        self.tracker.drop(t.client_id)
        partner = self.tracker.get(t.partner) if t.partner else None
        if partner is not None and partner.local and not t.local:
            # Emulated OCO: the exchange-side leg is done, so the held leg goes with it.
            self.report(partner, OrderStatus.CANCELED, reason="its OCO partner finished")
            self.tracker.drop(partner.client_id)

    # -- answers ------------------------------------------------------------------------------

    async def absorb(self, t: Tracked, order: dict[str, Any]) -> None:
        """Apply the exchange's view of one tracked order: report only what is new."""
        first = not t.acknowledged or t.unknown
        t.acknowledged, t.unknown, t.misses = True, False, 0
        if order.get("id") is not None:
            t.venue_order_id = str(order["id"])
        status = mapping.status_of(order)
        if first and status is not OrderStatus.REJECTED:
            self.report(t, OrderStatus.SUBMITTED)
        inst = self.markets.instrument(t.symbol)
        listed = order.get("trades") or []
        await self.price_fees(t.account_id, listed, inst)
        self._fills(t, listed, inst)
        venue_filled = mapping.num(order.get("filled")) or ZERO
        if venue_filled > t.filled and t.venue_order_id:
            client = self.clients.client(t.account_id)
            found = await self.order_trades(client, t)
            await self.price_fees(t.account_id, found, inst)
            self._fills(t, found, inst)
        if venue_filled > t.filled:
            # Trades not listed yet: keep the order and ask again at the next poll.
            log.warning(
                "trades_missing",
                exchange=self.name,
                order=t.client_id,
                filled=str(venue_filled),
                reported=str(t.filled),
            )
            return
        if not status.terminal:
            return
        if status is OrderStatus.FILLED:
            if t.filled >= t.qty:
                self.finish(t)
            return
        info = order.get("info") if isinstance(order.get("info"), dict) else {}
        raw = str(info.get("status") or status.value).lower().replace("_", " ")
        self.report(
            t,
            status,
            code=f"venue_{status.value}",
            reason=f"The order is {raw} on {self.name}.",
        )
        self.finish(t)

    def absorb_order_list(self, legs: list[Tracked], result: dict[str, Any]) -> None:
        entries = result.get("orderReports") or result.get("orders") or []
        by_client = {str(e.get("clientOrderId")): e for e in entries if isinstance(e, dict)}
        for leg in legs:
            entry = by_client.get(leg.client_id)
            if entry is None:
                leg.unknown = True  # not in the answer: poll looks it up by client id
                continue
            if entry.get("orderId") is not None:
                leg.venue_order_id = str(entry["orderId"])
            leg.acknowledged, leg.unknown = True, False
            self.report(leg, OrderStatus.SUBMITTED)

    def _fills(self, t: Tracked, trades: list[Any], inst: Instrument) -> None:
        ordered = sorted(
            (x for x in trades if isinstance(x, dict)), key=lambda x: x.get("timestamp") or 0
        )
        for trade in ordered:
            fill = self._take(t, trade, inst)
            if fill is not None:
                done = t.filled >= t.qty
                status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
                self.report(t, status, fill=fill)

    def _take(self, t: Tracked, trade: dict[str, Any], inst: Instrument) -> Fill | None:
        trade_id = trade.get("id")
        if trade_id is None or str(trade_id) in t.trade_ids:
            return None
        order_id = trade.get("order")
        if order_id is not None and t.venue_order_id and str(order_id) != t.venue_order_id:
            return None
        qty = mapping.num(trade.get("amount"))
        if qty is None or qty <= 0:
            return None
        t.trade_ids.add(str(trade_id))
        if t.filled + qty > t.qty:
            log.error("fill_exceeds_order", exchange=self.name, order=t.client_id, trade=trade_id)
            return None
        t.filled += qty
        return self.to_fill(trade, t.account_id, t.client_id, inst, t.side)

    def to_fill(
        self,
        trade: dict[str, Any],
        account_id: str,
        client_id: str,
        inst: Instrument,
        side: Side | None = None,
    ) -> Fill:
        return self.fee_prices.fill(trade, account_id, client_id, inst, side)

    async def price_fees(self, account_id: str, trades: list[Any], inst: Instrument) -> None:
        await self.fee_prices.read(self.clients.client(account_id), trades, inst)

    # -- exchange calls -----------------------------------------------------------------------

    async def open_orders(self, client: Any, symbol: str) -> list[dict[str, Any]]:
        return await self.caller.call(
            client,
            "fetch_open_orders",
            Op.READ,
            lambda: client.fetch_open_orders(symbol),
            check=mapping.check_orders,
            lane=Lane.RECONCILE,
        )

    async def trades(
        self,
        client: Any,
        symbol: str,
        since: int | None,
        limit: int | None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return await self.caller.call(
            client,
            "fetch_my_trades",
            Op.READ,
            lambda: client.fetch_my_trades(symbol, since, limit, dict(params or {})),
            check=mapping.check_trades,
            lane=Lane.RECONCILE,
        )

    async def order_trades(self, client: Any, t: Tracked) -> list[dict[str, Any]]:
        if self.exchange_id == "binance":
            found = await self.trades(client, t.symbol, None, None, {"orderId": t.venue_order_id})
        else:
            found = await self.trades(client, t.symbol, t.sent_ts - 60_000, None)
        return [x for x in found if str(x.get("order")) == t.venue_order_id]

    async def lookup(self, account_id: str, symbol: str, client_id: str) -> dict[str, Any] | None:
        """The exchange's order by client order id, or None when it has no such order."""
        client = self.clients.client(account_id)
        tracked = self.tracker.get(client_id)
        venue_id = (tracked.venue_order_id if tracked else None) or ""
        try:
            return await self.caller.call(
                client,
                "lookup_order",  # its "no such order" is an answer, not a failed call
                Op.READ,
                lambda: client.fetch_order(venue_id, symbol, {"clientOrderId": client_id}),
                check=mapping.check_order,
                lane=Lane.RECONCILE,
            )
        except VenueError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    async def refresh(self, t: Tracked) -> None:
        """Ask the exchange about one order by client id and apply the answer."""
        if t.local:
            if t.unknown:
                t.unknown = False
                self.report(t, OrderStatus.SUBMITTED)
            return
        found = await self.lookup(t.account_id, t.symbol, t.client_id)
        if found is None:
            self._not_found(t)
        else:
            await self.absorb(t, found)

    def _not_found(self, t: Tracked) -> None:
        if t.acknowledged:
            t.misses += 1
            if t.misses < VANISHED_AFTER:
                return  # a lookup that lags the exchange's own books finds it next time
            if t.misses == VANISHED_AFTER:
                log.error("order_vanished", exchange=self.name, order=t.client_id)
            if not t.venue_order_id:
                # Never given an id by the exchange (taken for acknowledged on a restore):
                # reconciliation settles it from the trade history (reconcile.history).
                return
            # The exchange no longer has an order it placed and numbered (it lost its open
            # orders, as an exchange restarted without them): it rests nowhere. Closed, so
            # that a stop is placed again for its coins; left open, the books counted it
            # resting for good and no stop was placed again.
            self.report(
                t,
                OrderStatus.EXPIRED,
                code="vanished",
                reason=f"{self.name} no longer has order {t.client_id}: it was neither open "
                f"nor found by its client order id in {t.misses} polls in a row.",
            )
            self.finish(t)
            return
        waited = self.clock.now_ms() - t.sent_ts
        if waited < self.unknown_grace_ms:
            return
        if self.wall() - t.sent_wall < self.clients.wall_grace_s(t.account_id):
            return  # it may still be on its way: a slow request is accepted within the window
        self.report(
            t,
            OrderStatus.REJECTED,
            code="never_arrived",
            reason=f"{self.name} has no order {t.client_id} {waited // 1000} s after it "
            "was sent: the request never arrived, so nothing was placed.",
        )
        self.finish(t)

    # -- cancels and held legs ----------------------------------------------------------------

    async def cancel_call(self, t: Tracked) -> dict[str, Any]:
        client = self.clients.client(t.account_id)
        return await self.caller.call(
            client,
            "cancel_order",
            Op.CANCEL,
            lambda: client.cancel_order(
                t.venue_order_id or "", t.symbol, {"clientOrderId": t.client_id}
            ),
            check=mapping.check_order,
        )

    async def cancel(self, t: Tracked) -> None:
        if t.local:
            self.report(t, OrderStatus.CANCELED, reason="canceled")
            self.finish(t)
            return
        try:
            result = await self.cancel_call(t)
        except OutcomeUnknown:
            t.cancel_wanted = True  # poll sends it again while the order is open
            raise
        except VenueError as exc:
            if exc.code != NOT_FOUND:
                raise
            # Not open any more (filled, or gone with its OCO partner), or it never arrived:
            # its real state settles it; if it turns up later, it is canceled then.
            t.cancel_wanted = not t.acknowledged
            await self.refresh(t)
            return
        t.cancel_wanted = False
        await self.absorb(t, result)
        self._list_canceled(t, result)

    def _list_canceled(self, t: Tracked, result: dict[str, Any]) -> None:
        """A leg of the exchange's OCO list canceled: Binance cancels the list whole, so the
        partner is reported canceled without asking (it cannot have traded: either leg's
        first trade expires the other, and this one was open). Asked, its cancel was refused
        and then looked up: two requests a pair, 11 s of a shard's first candle after a
        takeover on a starved machine."""
        partner = self.tracker.get(t.partner) if t.partner else None
        if partner is None or partner.local or t.local:
            return  # no list on the exchange (an emulated OCO's held leg goes in finish)
        if mapping.status_of(result) is OrderStatus.CANCELED:
            self.report(partner, OrderStatus.CANCELED, reason="canceled with its OCO partner")
            self.finish(partner)

    def hold_locally(
        self, order: Order, now: int, trigger: Decimal | None = None, *, announce: bool = True
    ) -> Tracked:
        """Keep a leg here instead of on the exchange (see the bracket modes)."""
        t = self.tracker.add(order, now, self.wall(), local=True)
        t.acknowledged = True
        t.trigger_above = trigger
        if announce:
            self.announce(t)
        return t

    def announce(self, t: Tracked) -> None:
        self.report(t, OrderStatus.SUBMITTED)

    # -- polling ------------------------------------------------------------------------------

    async def poll(self, only: str | Collection[str] | None = None) -> None:
        """Every tracked order's account, or ``only`` that one (or those)."""
        wanted = {only} if isinstance(only, str) else only
        with self.holding():
            for (account_id, symbol), group in self.tracker.by_account_symbol().items():
                if wanted is not None and account_id not in wanted:
                    continue
                try:
                    await self._poll_market(account_id, symbol, group)
                except RampartError as exc:
                    log.warning(
                        "poll_failed",
                        exchange=self.name,
                        account_id=account_id,
                        symbol=symbol,
                        error=exc.message,
                    )

    def _live(self, t: Tracked) -> bool:
        return self.tracker.get(t.client_id) is t

    async def _poll_market(self, account_id: str, symbol: str, group: list[Tracked]) -> None:
        client = self.clients.client(account_id)
        remote = [t for t in group if not t.local]
        if remote:
            listed = {
                str(o.get("clientOrderId")): o for o in await self.open_orders(client, symbol)
            }
            for t in remote:
                if not self._live(t):
                    continue  # settled meanwhile, with its partner
                try:
                    order = listed.get(t.client_id)
                    if order is None:
                        await self.refresh(t)
                        continue
                    await self.absorb(t, order)
                    if t.cancel_wanted and self._live(t):
                        await self.cancel(t)
                except RampartError as exc:
                    log.warning(
                        "order_poll_failed",
                        exchange=self.name,
                        order=t.client_id,
                        error=exc.message,
                    )
        held = [t for t in group if t.local and self._live(t)]
        for t in held:
            if t.unknown:
                await self.refresh(t)
        triggers = [t for t in held if t.trigger_above is not None]
        if not triggers:
            return
        ticker = await self.caller.call(
            client,
            "fetch_ticker",
            Op.READ,
            lambda: client.fetch_ticker(symbol),
            check_ticker,
            lane=Lane.MARKET,
        )
        last = mapping.num(ticker.get("last"))
        for t in triggers:
            if last is not None and t.trigger_above is not None and last >= t.trigger_above:
                await send_held_take_profit(self, t)
