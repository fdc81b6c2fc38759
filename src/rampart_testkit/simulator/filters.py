"""The symbol filters the matching core does not check, enforced as Binance enforces them
(``filters.md`` of its spot API reference), each refused with -1013 and ``Filter failure:
<FILTER>``: LOT_SIZE's maximum, MARKET_LOT_SIZE, PERCENT_PRICE_BY_SIDE (against the average
price of the last ``avgPriceMins`` minutes), MAX_NUM_ORDERS, MAX_NUM_ALGO_ORDERS (stop orders,
and each OCO's stop leg), ICEBERG_PARTS and TRAILING_DELTA.

The simulator matches against candles, so it keeps no trailing stop: one that passes its filter
is refused as an order combination it does not support (-1014)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from rampart.domain.candles import Candle
from rampart.domain.instruments import MarketRules
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderType, Side
from rampart.venues.book import SubAccount
from rampart_testkit.simulator import binance_codes as codes
from rampart_testkit.simulator.records import OrderRequest

ALGO = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
UNSUPPORTED = -1014


def failure(name: str) -> codes.BinanceError:
    return codes.BinanceError(codes.FILTER_FAILURE, f"Filter failure: {name}")


def average_price(candles: Sequence[Candle], mins: int, now_ms: int) -> Decimal | None:
    """The volume-weighted average close of the candles of the last ``mins`` minutes (the last
    close when they traded nothing, or when ``mins`` is 0); None before any candle."""
    if not candles:
        return None
    last = Decimal(repr(candles[-1].close))
    if mins <= 0:
        return last
    since = now_ms - mins * 60_000
    volume = value = ZERO
    for candle in reversed(candles):
        if candle.close_ts <= since:
            break
        traded = Decimal(repr(candle.volume))
        volume += traded
        value += traded * Decimal(repr(candle.close))
    return (value / volume).quantize(Decimal("1e-8")) if volume > ZERO else last


def open_counts(sub: SubAccount, symbol: str) -> tuple[int, int]:
    """(open orders, open stop orders) of the account on the symbol."""
    orders = stops = 0
    for order in sub.open.values():
        if order.symbol == symbol:
            orders += 1
            stops += order.type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)
    return orders, stops


def enforce(
    rules: MarketRules,
    requests: Sequence[OrderRequest],
    counts: tuple[int, int],
    average: Decimal | None,
) -> None:
    """Raise the BinanceError the first failing filter gives for these requests (one order, or
    the two legs of an OCO), beside ``counts`` (open orders, open stop orders)."""
    open_orders, open_stops = counts
    stops = sum(1 for r in requests if r.binance_type in ALGO)
    if rules.max_algo_orders is not None and stops and open_stops + stops > rules.max_algo_orders:
        raise failure("MAX_NUM_ALGO_ORDERS")
    if rules.max_orders is not None and open_orders + len(requests) > rules.max_orders:
        raise failure("MAX_NUM_ORDERS")
    for req in requests:
        _one(rules, req, average)


def _one(rules: MarketRules, req: OrderRequest, average: Decimal | None) -> None:
    qty = req.qty
    if qty is not None and rules.max_qty is not None and qty > rules.max_qty:
        raise failure("LOT_SIZE")
    if req.binance_type == "MARKET" and qty is not None:
        top, step = rules.market_max_qty, rules.market_step
        if (top is not None and qty > top) or qty < rules.market_min_qty:
            raise failure("MARKET_LOT_SIZE")
        if step > ZERO and qty % step != ZERO:
            raise failure("MARKET_LOT_SIZE")
    if req.price is not None and average is not None and rules.percent_price:
        buy = req.side is Side.BUY
        up, down = (rules.bid_up, rules.bid_down) if buy else (rules.ask_up, rules.ask_down)
        if not average * (down or ZERO) <= req.price <= average * (up or ZERO):
            raise failure("PERCENT_PRICE_BY_SIDE")
    iceberg, parts = req.iceberg_qty, rules.iceberg_parts
    if (
        iceberg is not None
        and qty is not None
        and parts is not None
        and (iceberg <= ZERO or math.ceil(qty / iceberg) > parts)
    ):
        raise failure("ICEBERG_PARTS")
    if req.trailing_delta is not None:
        _trailing(rules, req)


def _trailing(rules: MarketRules, req: OrderRequest) -> None:
    stop_loss = req.binance_type.startswith("STOP_LOSS")
    # Above: a buy stop-loss or a sell take-profit; below: the other two (filters.md).
    above = stop_loss == (req.side is Side.BUY)
    low, high = (
        (rules.min_trailing_above, rules.max_trailing_above)
        if above
        else (rules.min_trailing_below, rules.max_trailing_below)
    )
    delta = req.trailing_delta or 0
    if (low is not None and delta < low) or (high is not None and delta > high):
        raise failure("TRAILING_DELTA")
    raise codes.BinanceError(UNSUPPORTED, "Unsupported order combination.")
