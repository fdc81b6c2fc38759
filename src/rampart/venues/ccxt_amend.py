"""Lowering a resting OCO pair in place on Binance: "Order Amend Keep Priority".

Binance spot's ``PUT /api/v3/order/amend/keepPriority`` changes one order's quantity in place:
same order id, same price, same place in the queue, and (with ``newClientOrderId`` set to the
order's own id, as sent here) the same client id. It can only *lower* the quantity: ``newQty``
must be above 0 and below the order's quantity (rest-api.md; errors.md: "Order amend (quantity
increase) is not supported."). Its FAQ (faqs/order_amend_keep_priority.md, "Can Order lists be
amended?") says the legs of an OCO always share one quantity, so amending either leg amends
both: one request re-sizes the pair, and a second one for the other leg would be refused
("The requested action would change no state"). So the venue declares ``Amend.DOWN``: a pair
larger than what the account holds shrinks in place; a pair that must grow is canceled and
placed again by the engine (:mod:`rampart.trading.protection`).

ccxt 4.5 has no unified method and no implicit one for this endpoint, so it is sent through the
client's generic signed request (``client.request(path, ["private"], "PUT", params)``: binance's
``sign()`` signs every ``private`` path, the parameters going in the form body of a PUT), with
ccxt's cost for Binance's weight of it (what the client's throttle and the request budget pay).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

import structlog

from rampart.domain.errors import DataError, VenueError
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.trading.ports import Amend
from rampart.venues.ccxt_budget import paid_as, protective
from rampart.venues.ccxt_errors import CcxtCaller, Kind, Op
from rampart.venues.ccxt_orders import OrderTracker, Tracked

log = structlog.get_logger("rampart.venues.ccxt")

AMEND_PATH = "order/amend/keepPriority"
AMEND_COST = 0.8
"""ccxt's cost for Binance's request weight 4 (rest-api.md): binance's costs are weights at
0.2 a weight (``GET order``, weight 4, costs 0.8), which the request budget reads back."""
AMENDS_AT = frozenset({"binance"})
"""Exchange ids whose spot API offers Order Amend Keep Priority on OCO legs (the simulator is
reached as ``binance`` too). Binance.US and the futures ids are not Binance spot's matching
engine: their pairs are canceled and placed again."""


def amend_kind(exchange_id: str, bracket_mode: str) -> Amend:
    """What the ccxt venue declares: only a native OCO pair rests on the exchange to amend."""
    return Amend.DOWN if exchange_id in AMENDS_AT and bracket_mode == "oco" else Amend.NONE


class _Host(Protocol):
    """What :class:`AmendsDown` uses of the venue it is mixed into."""

    name: str
    tracker: OrderTracker
    caller: CcxtCaller

    async def ready(self) -> None: ...

    def client(self, account_id: str) -> Any: ...

    def instrument(self, symbol: str) -> Instrument: ...


class AmendsDown:
    """The :class:`~rampart.trading.ports.AmendingVenue` operation of
    :class:`~rampart.venues.ccxt_venue.CcxtVenue`, lowering only."""

    @paid_as(protective)
    async def amend_oco(
        self: _Host,
        account_id: str,
        stop_id: str,
        take_id: str,
        remaining: Decimal,
        *,
        stop_price: Decimal | None = None,
        take_price: Decimal | None = None,
    ) -> None:
        """Leave ``remaining`` coins to sell on the resting pair ``stop_id``/``take_id``, lower
        than what it has left. Raises a VenueError (nothing changed here; the engine cancels
        and replaces the pair) when the pair is not one resting on the exchange, the quantity
        would not go down, or the exchange refuses; an OutcomeUnknown when its answer is lost
        (the cancel that follows settles the pair either way)."""
        if stop_price is not None or take_price is not None:
            # Keep Priority changes the quantity only: a moved stop is canceled and
            # placed again by the engine, its position monitor holding the stop meanwhile.
            raise VenueError(
                f"{self.name} cannot change a resting pair's prices in place.",
                code=Kind.NOT_SUPPORTED.value,
            )
        stop, take = _pair(self, account_id, stop_id, take_id)
        if not ZERO < remaining < min(stop.remaining, take.remaining):
            raise VenueError(
                f"{self.name} can only lower a resting pair's quantity in place "
                f"({min(stop.remaining, take.remaining)} left, {remaining} asked).",
                code=Kind.NOT_SUPPORTED.value,
            )
        await self.ready()
        client = self.client(account_id)
        symbol_info = (getattr(client, "markets", None) or {}).get(stop.symbol) or {}
        if (symbol_info.get("info") or {}).get("amendAllowed") is False:
            raise VenueError(
                f"{self.name} does not allow amending orders on {stop.symbol}.",
                code=Kind.NOT_SUPPORTED.value,
            )
        new_qty = stop.filled + remaining
        params = {
            "symbol": client.market_id(stop.symbol),
            "orderId": stop.venue_order_id,
            # Without it Binance gives the order a random new client id: the books know it
            # by its own.
            "newClientOrderId": stop.client_id,
            "newQty": format(new_qty, "f"),
        }

        async def send() -> Any:
            return await client.request(
                AMEND_PATH, ["private"], "PUT", params, {"cost": AMEND_COST}
            )

        answer = await self.caller.call(
            client, "amend_order", Op.CREATE, send, check=_checker(stop, new_qty)
        )
        # The two legs of a Binance OCO share one quantity: the exchange lowered both.
        stop.qty = new_qty
        take.qty = take.filled + remaining
        log.info(
            "pair_amended",
            exchange=self.name,
            account_id=account_id,
            stop=stop.client_id,
            take=take.client_id,
            qty=str(remaining),
            execution=answer.get("executionId"),
        )


def _pair(host: _Host, account_id: str, stop_id: str, take_id: str) -> tuple[Tracked, Tracked]:
    stop, take = host.tracker.get(stop_id), host.tracker.get(take_id)
    if (
        stop is None
        or take is None
        or {stop.account_id, take.account_id} != {account_id}
        or stop.partner != take_id
        or stop.local
        or take.local
        or stop.unknown
        or not stop.venue_order_id
        or stop.cancel_wanted
        or take.cancel_wanted
    ):
        raise VenueError(
            f"{host.name} holds no resting pair {stop_id}/{take_id} sent by Rampart.",
            code=Kind.NOT_FOUND.value,
        )
    return stop, take


def _checker(stop: Tracked, new_qty: Decimal) -> Any:
    def check(answer: Any) -> None:
        """The answer names the stop leg and its new quantity (anything else is not an amend
        of this order: the caller treats it as an unreadable answer)."""
        order = answer.get("amendedOrder") if isinstance(answer, dict) else None
        if not isinstance(order, dict):
            raise DataError("The amend answer carries no amendedOrder.")
        if str(order.get("orderId")) != stop.venue_order_id:
            raise DataError(f"The amend answer is for order {order.get('orderId')}.")
        qty = order.get("qty")
        if qty is None or Decimal(str(qty)) != new_qty:
            raise DataError(f"The amend answer says quantity {qty}, not {new_qty}.")

    return check


__all__ = ["AMENDS_AT", "AMEND_PATH", "AmendsDown", "amend_kind"]
