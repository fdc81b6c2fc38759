"""Translating between ccxt's unified structures and Rampart's domain objects.

ccxt gives numbers as floats parsed from the exchange's decimal strings; each becomes a
Decimal through its shortest repr, which is exactly the string the exchange sent for any
price or quantity of up to 15 significant digits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, localcontext
from typing import Any

import ccxt.async_support as ccxt
from ccxt.base.decimal_to_precision import TICK_SIZE

from rampart.domain.errors import DataError, present
from rampart.domain.fills import Balance, Fill, Liquidity
from rampart.domain.instruments import Instrument, MarketRules
from rampart.domain.money import ZERO, ceil_to_step, dec, floor_to_step
from rampart.domain.orders import Order, OrderStatus, OrderType, Side
from rampart.trading.ports import VenueOrder


def precise_amount(client: Any, symbol: str, qty: Decimal) -> str:
    """``client.amount_to_precision`` in a copy of the decimal context (see :func:`_precise`)."""
    return _precise(client.amount_to_precision, symbol, qty)


def precise_price(client: Any, symbol: str, price: Decimal) -> str:
    """``client.price_to_precision`` in a copy of the decimal context (see :func:`_precise`)."""
    return _precise(client.price_to_precision, symbol, price)


def _precise(fn: Callable[[str, float], str], symbol: str, value: Decimal) -> str:
    """ccxt's ``decimal_to_precision`` sets the current decimal context's rounding to
    ROUND_HALF_UP and traps Underflow, and leaves them so: every Decimal sum of the books after
    it would round differently from a paper or replay run (and could raise on a tiny value)."""
    with localcontext():
        return fn(symbol, float(value))


STATUS: dict[str, OrderStatus] = {
    "open": OrderStatus.SUBMITTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def num(value: Any) -> Decimal | None:
    """A ccxt number (float, int, numeric string) as a Decimal; None when absent or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = dec(value) if isinstance(value, float | int | Decimal) else Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None
    return result if result.is_finite() else None


def _step(precision: Any, mode: int) -> Decimal | None:
    value = num(precision)
    if value is None:
        return None
    if mode == TICK_SIZE:
        return value if value > 0 else None
    # DECIMAL_PLACES: the number of digits after the point.
    return Decimal(1).scaleb(-int(value))


def instrument_from_market(market: Mapping[str, Any], precision_mode: int) -> Instrument:
    symbol = str(market.get("symbol"))
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    tick = _step(precision.get("price"), precision_mode)
    lot = _step(precision.get("amount"), precision_mode)
    if tick is None or lot is None:
        raise DataError(f"The exchange gives no price or amount precision for {symbol}.")
    min_qty = num((limits.get("amount") or {}).get("min")) or lot
    min_notional = num((limits.get("cost") or {}).get("min")) or ZERO
    info = market.get("info")
    filters = info.get("filters") if isinstance(info, Mapping) else None
    return Instrument(
        symbol=symbol,
        base=str(market.get("base")),
        quote=str(market.get("quote")),
        tick_size=tick.normalize(),
        lot_size=lot.normalize(),
        min_qty=max(min_qty, lot),
        min_notional=min_notional,
        rules=rules_from_filters(filters if isinstance(filters, list) else []),
    )


def _whole(value: Any) -> int | None:
    number = num(value)
    return int(number) if number is not None and number == number.to_integral_value() else None


def rules_from_filters(filters: list[Any]) -> MarketRules:
    """Binance's symbol filters (exchangeInfo, as ccxt keeps them in a market's ``info``) as
    :class:`MarketRules`; an exchange that sends none has none."""
    by_type = {f.get("filterType"): f for f in filters if isinstance(f, Mapping)}
    lot = by_type.get("LOT_SIZE", {})
    market = by_type.get("MARKET_LOT_SIZE", {})
    side = by_type.get("PERCENT_PRICE_BY_SIDE", {})
    trailing = by_type.get("TRAILING_DELTA", {})
    market_max = num(market.get("maxQty"))
    return MarketRules(
        max_qty=num(lot.get("maxQty")) or None,
        market_min_qty=num(market.get("minQty")) or ZERO,
        market_max_qty=market_max if market_max else None,
        market_step=num(market.get("stepSize")) or ZERO,
        bid_up=num(side.get("bidMultiplierUp")),
        bid_down=num(side.get("bidMultiplierDown")),
        ask_up=num(side.get("askMultiplierUp")),
        ask_down=num(side.get("askMultiplierDown")),
        avg_price_mins=_whole(side.get("avgPriceMins")) or 0,
        max_orders=_whole(by_type.get("MAX_NUM_ORDERS", {}).get("maxNumOrders")),
        max_algo_orders=_whole(by_type.get("MAX_NUM_ALGO_ORDERS", {}).get("maxNumAlgoOrders")),
        iceberg_parts=_whole(by_type.get("ICEBERG_PARTS", {}).get("limit")),
        min_trailing_above=_whole(trailing.get("minTrailingAboveDelta")),
        max_trailing_above=_whole(trailing.get("maxTrailingAboveDelta")),
        min_trailing_below=_whole(trailing.get("minTrailingBelowDelta")),
        max_trailing_below=_whole(trailing.get("maxTrailingBelowDelta")),
    )


def status_of(order: Mapping[str, Any]) -> OrderStatus:
    status = STATUS.get(str(order.get("status")), OrderStatus.SUBMITTED)
    filled = num(order.get("filled")) or ZERO
    if status is OrderStatus.SUBMITTED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def check_order(order: Any) -> None:
    """Reject an answer that does not describe an order (ccxt parses garbage into Nones)."""
    if (
        not isinstance(order, dict)
        or not isinstance(order.get("info"), dict)
        or order.get("status") not in STATUS
        or (order.get("id") is None and order.get("clientOrderId") is None)
        or num(order.get("amount")) is None
    ):
        raise ccxt.BadResponse("the answer does not describe an order")


def check_orders(orders: Any) -> None:
    if not isinstance(orders, list):
        raise ccxt.BadResponse("the answer is not a list of orders")
    for order in orders:
        check_order(order)


def check_order_list(result: Any) -> None:
    if not isinstance(result, dict):
        raise ccxt.BadResponse("the answer does not describe an order list")
    orders = result.get("orderReports") or result.get("orders")
    if not isinstance(orders, list) or not all(
        isinstance(o, dict) and o.get("clientOrderId") for o in orders
    ):
        raise ccxt.BadResponse("the order list answer names no orders")


def check_trades(trades: Any) -> None:
    if not isinstance(trades, list):
        raise ccxt.BadResponse("the answer is not a list of trades")
    for trade in trades:
        if (
            not isinstance(trade, dict)
            or not isinstance(trade.get("info"), dict)
            or trade.get("id") is None
            or num(trade.get("amount")) is None
        ):
            raise ccxt.BadResponse("the answer holds a trade without id or amount")


def check_balance(balance: Any) -> None:
    if (
        not isinstance(balance, dict)
        or not isinstance(balance.get("info"), dict)
        or not isinstance(balance.get("free"), dict)
    ):
        raise ccxt.BadResponse("the answer is not a balance")


def order_type_of(order: Mapping[str, Any]) -> OrderType | None:
    """The domain order type of a ccxt order (ccxt shows a stop-market as ``market`` with a
    trigger price); None when it is none of Rampart's types."""
    kind = str(order.get("type") or "").lower()
    trigger = num(order.get("triggerPrice") or order.get("stopPrice"))
    if trigger is not None:
        return OrderType.STOP_MARKET if kind in ("market", "stop_loss") else OrderType.STOP_LIMIT
    return {
        "market": OrderType.MARKET,
        "limit": OrderType.LIMIT,
        "limit_maker": OrderType.LIMIT,
    }.get(kind)


def venue_order(order: Mapping[str, Any], client_id: str | None = None) -> VenueOrder:
    kind = order_type_of(order)
    side = order.get("side")
    ts = order.get("timestamp")
    return VenueOrder(
        client_id=str(order.get("clientOrderId") or client_id or ""),
        symbol=str(order.get("symbol")),
        status=status_of(order),
        qty=num(order.get("amount")) or ZERO,
        filled_qty=num(order.get("filled")) or ZERO,
        avg_price=num(order.get("average")) or ZERO,
        venue_order_id=None if order.get("id") is None else str(order.get("id")),
        side=Side.BUY if side == "buy" else Side.SELL if side == "sell" else None,
        type=kind,
        # ccxt fills a market order's price with its average fill price: not a limit.
        price=None
        if kind in (OrderType.MARKET, OrderType.STOP_MARKET)
        else num(order.get("price")),
        stop_price=num(order.get("triggerPrice") or order.get("stopPrice")),
        ts=int(ts) if isinstance(ts, int | float) and ts > 0 else 0,
    )


def fee_of(
    trade: Mapping[str, Any], inst: Instrument, price: Decimal
) -> tuple[Decimal | None, str, Decimal]:
    """The trade's fee as (value in the quote, asset, amount): asset "" and amount 0 for a fee
    in the quote currency; the value is None for a third asset (BNB), which only its own
    price in the quote can value."""
    fee = trade.get("fee") or {}
    cost = abs(num(fee.get("cost")) or ZERO)
    currency = fee.get("currency")
    if cost == ZERO or currency in (None, inst.quote):
        return cost, "", ZERO
    if currency == inst.base:
        return cost * price, inst.base, cost
    return None, str(currency), cost


def fee_currency(trade: Mapping[str, Any]) -> str | None:
    fee = trade.get("fee") or {}
    currency = fee.get("currency") if isinstance(fee, Mapping) else None
    return None if currency is None else str(currency)


def fill_from_trade(
    trade: Mapping[str, Any],
    *,
    account_id: str,
    client_id: str,
    inst: Instrument,
    side: Side,
    fee: Decimal,
    now_ms: int,
    fee_asset: str = "",
    fee_qty: Decimal = ZERO,
) -> Fill:
    price = num(trade.get("price")) or ZERO
    qty = num(trade.get("amount")) or ZERO
    ts = trade.get("timestamp")
    maker = trade.get("takerOrMaker") == "maker"
    return Fill(
        fill_id=f"{client_id}:{trade.get('id')}",
        client_id=client_id,
        account_id=account_id,
        symbol=inst.symbol,
        side=side,
        qty=qty,
        price=price,
        fee=fee,
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        ts=int(ts) if isinstance(ts, int | float) and ts > 0 else now_ms,
        fee_asset=fee_asset,
        fee_qty=fee_qty,
    )


def balances_from(balance: Mapping[str, Any]) -> dict[str, Balance]:
    free = balance.get("free") or {}
    used = balance.get("used") or {}
    result: dict[str, Balance] = {}
    for asset in set(free) | set(used):
        f = num(free.get(asset)) or ZERO
        u = num(used.get(asset)) or ZERO
        if f or u:
            result[str(asset)] = Balance(str(asset), f, u)
    return result


def stop_limit_price(order: Order, inst: Instrument, buffer: Decimal) -> Decimal:
    """A limit for a stop-limit standing in for a stop-market: past the stop by ``buffer``."""
    stop = present(order.stop_price, "a stop order's trigger")
    if order.side is Side.SELL:
        return max(floor_to_step(stop * (1 - buffer), inst.tick_size), inst.tick_size)
    return ceil_to_step(stop * (1 + buffer), inst.tick_size)


def order_request(
    order: Order, inst: Instrument, order_types: set[str] | None, buffer: Decimal
) -> tuple[str, float | None, dict[str, Any]]:
    """ccxt's ``(type, price, params)`` for one order; the amount is ``order.qty``.

    A stop-market becomes the exchange's STOP_LOSS when it offers that type, else a
    stop-limit whose limit sits ``buffer`` past the stop.
    """
    params: dict[str, Any] = {"clientOrderId": order.client_id}
    if order.type is OrderType.MARKET:
        return "market", None, params
    if order.type is OrderType.LIMIT:
        params["timeInForce"] = "GTC"
        return "limit", float(present(order.price, "a limit order's price")), params
    params["triggerPrice"] = float(present(order.stop_price, "a stop order's trigger"))
    if order.type is OrderType.STOP_MARKET and (order_types is None or "STOP_LOSS" in order_types):
        return "market", None, params
    limit = order.price if order.type is OrderType.STOP_LIMIT else None
    if limit is None:
        limit = stop_limit_price(order, inst, buffer)
    params["timeInForce"] = "GTC"
    return "limit", float(limit), params


def order_types_of(market: Mapping[str, Any]) -> set[str] | None:
    info = market.get("info") or {}
    types = info.get("orderTypes") if isinstance(info, dict) else None
    return {str(t) for t in types} if isinstance(types, list) else None


def oco_request(
    client: Any,
    stop: Order,
    take: Order,
    stop_price: Decimal,
    take_price: Decimal,
    stop_limit: Decimal | None,
) -> dict[str, Any]:
    """Binance's ``POST /api/v3/orderList/oco`` for a bracket: the take-profit above as a
    LIMIT_MAKER, the stop below (at market, or as a stop-limit when the market has no
    STOP_LOSS)."""
    symbol = stop.symbol
    request: dict[str, Any] = {
        "symbol": client.market_id(symbol),
        "side": "SELL",
        "quantity": precise_amount(client, symbol, stop.qty),
        "listClientOrderId": f"{stop.oco_group or stop.client_id}-oco",
        "aboveType": "LIMIT_MAKER",
        "abovePrice": precise_price(client, symbol, take_price),
        "aboveClientOrderId": take.client_id,
        "belowStopPrice": precise_price(client, symbol, stop_price),
        "belowClientOrderId": stop.client_id,
        "newOrderRespType": "FULL",
    }
    if stop_limit is None:
        request["belowType"] = "STOP_LOSS"
    else:
        request["belowType"] = "STOP_LOSS_LIMIT"
        request["belowPrice"] = precise_price(client, symbol, stop_limit)
        request["belowTimeInForce"] = "GTC"
    return request
