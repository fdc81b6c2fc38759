"""A venue whose orders and reports are spans: the order sent inside the candle's
decision span, each report (a fill, a rejection) a span of its own naming the order's client
id, so ``rampart trace ID`` finds the candle that decided it. Used only while tracing is on:
off, the engine talks to the venue it had (no wrapper, no cost)."""

from __future__ import annotations

from typing import Any

from rampart.domain.orders import Order
from rampart.observability import tracing
from rampart.observability.tracing import CLIENT_ID
from rampart.trading.ports import Venue, VenueListener, VenueReport


def _order(order: Order) -> dict[str, Any]:
    return {
        CLIENT_ID: order.client_id,
        "rampart.account": order.account_id,
        "rampart.symbol": order.symbol,
        "rampart.side": str(order.side.value),
        "rampart.type": str(order.type.value),
        "rampart.qty": str(order.qty),
    }


class TracedVenue:
    def __init__(self, venue: Venue) -> None:
        self._venue = venue

    def __getattr__(self, item: str) -> Any:
        return getattr(self._venue, item)

    def set_listener(self, listener: VenueListener) -> None:
        def heard(report: VenueReport) -> None:
            attrs: dict[str, Any] = {
                CLIENT_ID: report.client_id,
                "rampart.account": report.account_id,
                "rampart.status": str(report.status.value),
            }
            fill = report.fill
            if fill is not None:
                attrs["rampart.fill_qty"] = str(fill.qty)
                attrs["rampart.fill_price"] = str(fill.price)
            with tracing.span("fill" if fill is not None else "order.report", attrs):
                listener(report)

        self._venue.set_listener(heard)

    async def submit(self, order: Order) -> None:
        with tracing.span("order.submit", _order(order), kind="client"):
            await self._venue.submit(order)

    async def submit_oco(self, stop_loss: Order, take_profit: Order) -> None:
        attrs = _order(stop_loss)
        attrs["rampart.take_profit"] = take_profit.client_id
        with tracing.span("order.submit_oco", attrs, kind="client"):
            await self._venue.submit_oco(stop_loss, take_profit)

    async def cancel(self, account_id: str, client_id: str) -> None:
        attrs = {CLIENT_ID: client_id, "rampart.account": account_id}
        with tracing.span("order.cancel", attrs, kind="client"):
            await self._venue.cancel(account_id, client_id)


def traced_venue(venue: Venue) -> Venue:
    """``venue`` in a :class:`TracedVenue` while tracing is on; itself otherwise."""
    if not tracing.enabled():
        return venue
    return TracedVenue(venue)


__all__ = ["TracedVenue", "traced_venue"]
