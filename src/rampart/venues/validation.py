"""Checks an order must pass before the venue accepts it, each with a stable code and a sentence.

Codes: ``unknown_account``, ``unknown_symbol``, ``bad_order``, ``bad_price``, ``bad_lot``,
``bad_tick``, ``min_qty``, ``no_price``, ``min_notional``, ``insufficient_funds``, ``bad_oco``;
and for the filters of :class:`~rampart.domain.instruments.MarketRules` (an exchange's, checked
before an order is sent to it): ``max_qty``, ``market_lot``, ``percent_price``, ``max_orders``,
``max_algo_orders``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import structlog

from rampart.domain.fills import Balance
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.domain.orders import Order, OrderType, Side


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    reason: str


STOP_TYPES = (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
LIMIT_TYPES = (OrderType.LIMIT, OrderType.STOP_LIMIT)


def _finite(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def check_shape(order: Order, inst: Instrument) -> Rejection | None:
    """Prices and quantity present, positive, on the instrument's tick and lot."""
    if not _finite(order.qty):
        return Rejection("bad_order", "The order quantity must be a finite Decimal.")
    named: list[tuple[str, Decimal | None]] = []
    if order.type in LIMIT_TYPES:
        named.append(("limit price", order.price))
    if order.type in STOP_TYPES:
        named.append(("stop price", order.stop_price))
    for label, value in named:
        if value is None or not _finite(value) or value <= ZERO:
            return Rejection(
                "bad_price", f"A {order.type.value} order needs a positive {label}, got {value}."
            )
    if order.qty <= ZERO or not inst.qty_on_lot(order.qty):
        return Rejection(
            "bad_lot",
            f"Quantity {order.qty} must be positive and a multiple of the lot size "
            f"{inst.lot_size} for {inst.symbol}.",
        )
    for label, value in named:
        if value is None or not inst.price_on_tick(value):
            return Rejection(
                "bad_tick",
                f"The {label} {value} is not a multiple of the tick size {inst.tick_size} "
                f"for {inst.symbol}.",
            )
    if order.qty < inst.min_qty:
        return Rejection(
            "min_qty",
            f"Quantity {order.qty} is below the minimum of {inst.min_qty} for {inst.symbol}.",
        )
    return None


def reference_price(order: Order, last_close: Decimal | None) -> Decimal | None:
    """The price the order's value is judged at: its limit, its stop, or the last close."""
    if order.type in LIMIT_TYPES:
        return order.price
    if order.type is OrderType.STOP_MARKET:
        return order.stop_price
    return last_close


def check_value(order: Order, inst: Instrument, last_close: Decimal | None) -> Rejection | None:
    price = reference_price(order, last_close)
    if price is None:
        return Rejection(
            "no_price",
            f"No price is known yet for {inst.symbol}, so a market order cannot be filled.",
        )
    value = order.qty * price
    if value < inst.min_notional:
        return Rejection(
            "min_notional",
            f"The order is worth {value} {inst.quote}, below the minimum of "
            f"{inst.min_notional} {inst.quote} for {inst.symbol}.",
        )
    return None


def check_oco(stop: Order, take: Order) -> Rejection | None:
    """The pair must be a sell stop and a sell limit above it, for the same coins."""
    if stop.client_id == take.client_id:
        return Rejection("bad_oco", "The two legs of an OCO need different client ids.")
    if (stop.account_id, stop.symbol) != (take.account_id, take.symbol):
        return Rejection("bad_oco", "Both legs of an OCO must be for the same account and symbol.")
    if stop.side is not Side.SELL or take.side is not Side.SELL:
        return Rejection("bad_oco", "Both legs of an OCO must be sell orders.")
    if stop.type not in STOP_TYPES or take.type is not OrderType.LIMIT:
        return Rejection(
            "bad_oco", "An OCO is a stop-market or stop-limit order plus a limit order."
        )
    if stop.qty != take.qty:
        return Rejection("bad_oco", "Both legs of an OCO must have the same quantity.")
    groups = {g for g in (stop.oco_group, take.oco_group) if g}
    if len(groups) > 1:
        return Rejection("bad_oco", "The two legs of an OCO carry different OCO groups.")
    stop_price, limit = stop.stop_price, take.price
    if _finite(stop_price) and _finite(limit) and limit <= stop_price:  # type: ignore[operator]
        return Rejection(
            "bad_oco",
            f"The take-profit {limit} must be above the stop-loss {stop_price}.",
        )
    return None


def check_rules(
    order: Order, inst: Instrument, price: Decimal | None, average: Decimal | None
) -> Rejection | None:
    """The filters one order must pass: ``price`` is the limit it is sent with (None for a
    market or stop-market order), ``average`` the venue's average price (None: unknown)."""
    rules, qty, symbol = inst.rules, order.qty, inst.symbol
    if rules.max_qty is not None and qty > rules.max_qty:
        return Rejection(
            "max_qty", f"Quantity {qty} is above the maximum of {rules.max_qty} for {symbol}."
        )
    if order.type is OrderType.MARKET:
        top, step = rules.market_max_qty, rules.market_step
        if (
            (top is not None and qty > top)
            or qty < rules.market_min_qty
            or (step > ZERO and qty % step != ZERO)
        ):
            return Rejection(
                "market_lot",
                f"A market order for {qty} {inst.base} is outside what {symbol} takes in one "
                f"market order (at most {top}, at least {rules.market_min_qty}); it was not sent.",
            )
    if price is None or average is None or not rules.percent_price:
        return None
    buy = order.side is Side.BUY
    up, down = (rules.bid_up, rules.bid_down) if buy else (rules.ask_up, rules.ask_down)
    low, high = average * (down or ZERO), average * (up or ZERO)
    if low <= price <= high:
        return None
    side = "buy" if buy else "sell"
    return Rejection(
        "percent_price",
        f"The {side} price {price} is outside {low.normalize():f} to {high.normalize():f}, "
        f"the range {symbol} accepts around its average price {average} of the last "
        f"{rules.avg_price_mins} minutes; it was not sent.",
    )


def check_counts(
    inst: Instrument, open_orders: int, open_stops: int, orders: int, stops: int
) -> Rejection | None:
    """Room for ``orders`` more orders, ``stops`` of them stop orders, beside the account's
    ``open_orders`` on the symbol (``open_stops`` of them stops)."""
    rules = inst.rules
    cap = rules.max_algo_orders
    if stops and cap is not None and open_stops + stops > cap:
        return Rejection(
            "max_algo_orders",
            f"{inst.symbol} allows {cap} stop orders open at once and {open_stops} are open, "
            "so the exchange would refuse another; it was not sent.",
        )
    cap = rules.max_orders
    if cap is not None and open_orders + orders > cap:
        return Rejection(
            "max_orders",
            f"{inst.symbol} allows {cap} open orders at once and {open_orders} are open, so the "
            "exchange would refuse more; it was not sent.",
        )
    return None


def insufficient(asset: str, need: Decimal, free: Decimal) -> Rejection:
    return Rejection(
        "insufficient_funds", f"The order needs {need} {asset} but only {free} {asset} is free."
    )


def warn_if_short(
    venue: str, account_id: str, held: Mapping[str, Balance], capital: Mapping[str, Decimal]
) -> None:
    """An account opens with more capital than the venue holds free: said in the log (the
    first reconciliation then sets the books to the venue's figures)."""
    for asset, amount in capital.items():
        free = held.get(asset, Balance(asset)).free
        if free < amount:
            structlog.get_logger("rampart.venues").warning(
                "venue_balance_short",
                exchange=venue,
                account_id=account_id,
                asset=asset,
                free=str(free),
                capital=str(amount),
            )
