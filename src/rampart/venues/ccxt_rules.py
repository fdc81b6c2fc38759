"""An exchange's symbol filters checked before an order is sent (Binance's MARKET_LOT_SIZE,
PERCENT_PRICE_BY_SIDE, MAX_NUM_ORDERS, MAX_NUM_ALGO_ORDERS; see
:class:`~rampart.domain.instruments.MarketRules`).

An order the exchange would refuse is refused here, with one sentence, without a request: a
protective pair refused this way is guarded by the position monitor and tried again later, as
one the exchange refused would be. The count of open orders is the ones this venue sent and
follows; the exchange still checks the rest (orders placed by hand). The average price a
price is judged against is the exchange's own (``GET /api/v3/avgPrice``), read only for an
order with a limit price on a symbol with PERCENT_PRICE_BY_SIDE, once a symbol per instant of
the venue's clock (:class:`Averages`); when it cannot be read the exchange is left to judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import structlog

from rampart.clock import Clock
from rampart.domain.errors import RampartError, VenueError
from rampart.domain.instruments import Instrument
from rampart.domain.orders import Order, OrderType
from rampart.venues import ccxt_mapping as mapping
from rampart.venues.budget_lanes import Lane
from rampart.venues.ccxt_errors import CcxtCaller, Op
from rampart.venues.ccxt_orders import OrderTracker
from rampart.venues.validation import check_counts, check_rules

log = structlog.get_logger("rampart.venues.ccxt")


@dataclass
class Averages:
    """The exchange's average prices read at this instant of the venue's clock (a candle's, in
    a shard): one read a symbol for every order sent in it. Each account of a shard asked it
    before each of its protective pairs, and a fleet's accounts enter on the same candles: a
    burst of reads of one figure (a five-minute average) on an exchange that may answer 26-34
    requests a second for the whole fleet. Only a pre-check: the exchange still
    judges every order."""

    clock: Clock
    read_at: dict[str, tuple[int, Decimal]] = field(default_factory=dict)

    async def get(
        self, name: str, caller: CcxtCaller, client: Any, inst: Instrument
    ) -> Decimal | None:
        now = self.clock.now_ms()
        seen = self.read_at.get(inst.symbol)
        if seen is not None and seen[0] == now:
            return seen[1]
        price = await _average(name, caller, client, inst)
        if price is not None:  # unread: the next order asks again
            self.read_at[inst.symbol] = (now, price)
        return price


def _check_average(answer: Any) -> None:
    if not isinstance(answer, dict) or mapping.num(answer.get("price")) is None:
        raise ccxt.BadResponse("the answer is not an average price")


async def refuse_early(
    *,
    name: str,
    caller: CcxtCaller,
    tracker: OrderTracker,
    client: Any,
    inst: Instrument,
    legs: list[tuple[Order, Decimal | None]],
    averages: Averages,
) -> None:
    """Raise :class:`VenueError` (the sentence a rule gives) when the exchange would refuse
    ``legs`` (each an order and the limit price it is sent with; the legs of one OCO together)."""
    first = legs[0][0]
    open_orders, open_stops = tracker.on_exchange(first.account_id, first.symbol)
    stops = sum(
        1 for order, _ in legs if order.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    )
    rejection = check_counts(inst, open_orders, open_stops, len(legs), stops)
    average = None
    if rejection is None and inst.rules.percent_price and any(p is not None for _, p in legs):
        average = await averages.get(name, caller, client, inst)
    for order, price in legs:
        rejection = rejection or check_rules(order, inst, price, average)
    if rejection is not None:
        raise VenueError(rejection.reason, code=rejection.code)


async def _average(name: str, caller: CcxtCaller, client: Any, inst: Instrument) -> Decimal | None:
    market_id = client.market_id(inst.symbol)
    try:
        answer = await caller.call(
            client,
            "avg_price",
            Op.READ,
            lambda: client.publicGetAvgPrice({"symbol": market_id}),
            check=_check_average,
            lane=Lane.MARKET,
        )
    except RampartError as exc:
        log.warning("average_price_unread", exchange=name, symbol=inst.symbol, error=exc.message)
        return None
    return mapping.num(answer.get("price"))
