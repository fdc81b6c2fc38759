"""Binance's JSON shapes for the simulator's records: markets, klines, tickers, orders, trades.

Numbers are strings with at least eight decimals, as Binance prints them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rampart.domain.candles import TIMEFRAME_MS, Candle
from rampart.domain.instruments import Instrument
from rampart.domain.money import ZERO
from rampart.domain.orders import OrderStatus
from rampart.venues.book import BookOrder
from rampart_testkit.simulator.exchange import (
    SUPPORTED_TYPES,
    OrderList,
    OrderMeta,
    SimExchange,
    Trade,
)

INTERVALS = dict(TIMEFRAME_MS)
MAX_PRICE = Decimal("1000000000")
MAX_QTY = Decimal("9000000000")


def num(value: Decimal | float | int | None) -> str:
    if value is None:
        return "0.00000000"
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(d, "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(8, '0')}"


def _filters(inst: Instrument) -> list[dict[str, Any]]:
    """The symbol's filters in Binance's order and shape (numbers that are counts are JSON
    integers, decimals strings); a rule the instrument does not set is not sent."""
    rules = inst.rules
    out: list[dict[str, Any]] = [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": num(inst.tick_size),
            "maxPrice": num(MAX_PRICE),
            "tickSize": num(inst.tick_size),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": num(inst.min_qty),
            "maxQty": num(rules.max_qty or MAX_QTY),
            "stepSize": num(inst.lot_size),
        },
    ]
    if rules.iceberg_parts is not None:
        out.append({"filterType": "ICEBERG_PARTS", "limit": rules.iceberg_parts})
    if rules.market_max_qty is not None:
        out.append(
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": num(rules.market_min_qty),
                "maxQty": num(rules.market_max_qty),
                "stepSize": num(rules.market_step),
            }
        )
    if rules.min_trailing_below is not None:
        out.append(
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": rules.min_trailing_above,
                "maxTrailingAboveDelta": rules.max_trailing_above,
                "minTrailingBelowDelta": rules.min_trailing_below,
                "maxTrailingBelowDelta": rules.max_trailing_below,
            }
        )
    if rules.percent_price:
        out.append(
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": str(rules.bid_up),
                "bidMultiplierDown": str(rules.bid_down),
                "askMultiplierUp": str(rules.ask_up),
                "askMultiplierDown": str(rules.ask_down),
                "avgPriceMins": rules.avg_price_mins,
            }
        )
    out.append(
        {
            "filterType": "NOTIONAL",
            "minNotional": num(inst.min_notional),
            "applyMinToMarket": True,
            "maxNotional": num(MAX_PRICE * 1000),
            "applyMaxToMarket": False,
            "avgPriceMins": rules.avg_price_mins or 5,
        }
    )
    if rules.max_orders is not None:
        out.append({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": rules.max_orders})
    if rules.max_algo_orders is not None:
        out.append({"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": rules.max_algo_orders})
    return out


def symbol_info(symbol_id: str, inst: Instrument) -> dict[str, Any]:
    return {
        "symbol": symbol_id,
        "status": "TRADING",
        "baseAsset": inst.base,
        "baseAssetPrecision": 8,
        "quoteAsset": inst.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(SUPPORTED_TYPES),
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": False,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": True,  # PUT /api/v3/order/amend/keepPriority (routes_amend)
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": _filters(inst),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_MAKER"],
    }


def exchange_info(ex: SimExchange, server_ms: int, weight_limit: int = 6000) -> dict[str, Any]:
    """``weight_limit``: the REQUEST_WEIGHT per minute this simulator enforces (Binance's 6000
    when it enforces none). ORDERS are Binance's, counted per account (not enforced here)."""
    return {
        "timezone": "UTC",
        "serverTime": server_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": weight_limit,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(ex.ids[s], i) for s, i in ex.core.instruments.items()],
    }


def kline(candle: Candle) -> list[Any]:
    volume = Decimal(str(candle.volume))
    quote_volume = volume * Decimal(str(candle.close))
    return [
        candle.ts,
        num(candle.open),
        num(candle.high),
        num(candle.low),
        num(candle.close),
        num(volume),
        candle.close_ts - 1,
        num(quote_volume.quantize(Decimal("1e-8"))),
        0,
        "0.00000000",
        "0.00000000",
        "0",
    ]


def aggregate(candles: list[Candle], span_ms: int) -> list[Candle]:
    """Base candles rolled up into ``span_ms`` bars aligned on the epoch (partial last bar)."""
    out: list[Candle] = []
    for c in candles:
        start = c.ts - c.ts % span_ms
        if out and out[-1].ts == start:
            prev = out[-1]
            out[-1] = Candle(
                c.symbol, start, prev.open, max(prev.high, c.high), min(prev.low, c.low),
                c.close, prev.volume + c.volume, span_ms,
            )  # fmt: skip
        else:
            out.append(Candle(c.symbol, start, c.open, c.high, c.low, c.close, c.volume, span_ms))
    return out


def ticker_24h(symbol_id: str, window: list[Candle], server_ms: int) -> dict[str, Any]:
    first, last = window[0], window[-1]
    high = max(c.high for c in window)
    low = min(c.low for c in window)
    volume = sum(Decimal(str(c.volume)) for c in window)
    quote_volume = sum(Decimal(str(c.volume)) * Decimal(str(c.close)) for c in window)
    change = Decimal(str(last.close)) - Decimal(str(first.open))
    pct = change / Decimal(str(first.open)) * 100
    weighted = quote_volume / volume if volume > 0 else Decimal(str(last.close))
    close = num(last.close)
    return {
        "symbol": symbol_id,
        "priceChange": num(change),
        "priceChangePercent": f"{pct:.3f}",
        "weightedAvgPrice": num(weighted.quantize(Decimal("1e-8"))),
        "prevClosePrice": num(first.open),
        "lastPrice": close,
        "lastQty": "0.00000000",
        "bidPrice": close,
        "bidQty": "1.00000000",
        "askPrice": close,
        "askQty": "1.00000000",
        "openPrice": num(first.open),
        "highPrice": num(high),
        "lowPrice": num(low),
        "volume": num(volume),
        "quoteVolume": num(quote_volume.quantize(Decimal("1e-8"))),
        "openTime": first.ts,
        "closeTime": last.close_ts - 1,
        "firstId": 0,
        "lastId": 0,
        "count": len(window),
    }


def status_of(order: BookOrder, meta: OrderMeta) -> str:
    if order.status is OrderStatus.CANCELED and meta.expired:
        return "EXPIRED"
    return {
        OrderStatus.SUBMITTED: "NEW",
        OrderStatus.NEW: "NEW",
        OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
        OrderStatus.FILLED: "FILLED",
        OrderStatus.CANCELED: "CANCELED",
        OrderStatus.REJECTED: "REJECTED",
        OrderStatus.EXPIRED: "EXPIRED",
        OrderStatus.UNKNOWN: "NEW",
    }[order.status]


def order(ex: SimExchange, o: BookOrder) -> dict[str, Any]:
    meta = ex.order_meta(o.account_id, o)
    working = o.stop_price is None or o.triggered
    return {
        "symbol": ex.ids[o.symbol],
        "orderId": o.seq,
        "orderListId": meta.list_id,
        "clientOrderId": o.client_id,
        "price": num(o.price or ZERO),
        "origQty": num(o.qty),
        "executedQty": num(o.filled_qty),
        "cummulativeQuoteQty": num(o.filled_notional),
        "status": status_of(o, meta),
        "timeInForce": meta.time_in_force or "GTC",
        "type": meta.binance_type,
        "side": o.side.value.upper(),
        "stopPrice": num(o.stop_price or ZERO),
        "icebergQty": num(meta.iceberg_qty),
        "time": o.created_ts,
        "updateTime": o.updated_ts,
        "isWorking": working,
        # A stop is not working until it triggers: Binance says -1 until then.
        "workingTime": o.created_ts if o.stop_price is None else o.updated_ts if working else -1,
        "origQuoteOrderQty": num(meta.quote_qty),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def placed(ex: SimExchange, o: BookOrder, fills: list[Trade], resp_type: str) -> dict[str, Any]:
    """The answer to a new order: ACK, RESULT or FULL (RESULT plus this request's fills)."""
    meta = ex.order_meta(o.account_id, o)
    ack = {
        "symbol": ex.ids[o.symbol],
        "orderId": o.seq,
        "orderListId": meta.list_id,
        "clientOrderId": o.client_id,
        "transactTime": o.created_ts,
    }
    if resp_type == "ACK":
        return ack
    full = order(ex, o)
    for name in ("time", "updateTime", "icebergQty", "isWorking"):
        full.pop(name, None)
    full["transactTime"] = o.created_ts
    if resp_type == "FULL":
        full["fills"] = [
            {
                "price": num(t.price),
                "qty": num(t.qty),
                "commission": num(t.commission),
                "commissionAsset": t.commission_asset,
                "tradeId": t.trade_id,
            }
            for t in fills
        ]
    return full


def canceled(ex: SimExchange, o: BookOrder, cancel_id: str) -> dict[str, Any]:
    """The answer to a cancel: ``clientOrderId`` is the cancel's own id, ``origClientOrderId``
    the order's."""
    out = order(ex, o)
    out["origClientOrderId"] = o.client_id
    out["clientOrderId"] = cancel_id
    out["transactTime"] = o.updated_ts
    for name in ("time", "updateTime", "icebergQty", "isWorking", "workingTime"):
        out.pop(name, None)
    return out


def trade(ex: SimExchange, t: Trade) -> dict[str, Any]:
    return {
        "symbol": ex.ids[t.symbol],
        "id": t.trade_id,
        "orderId": t.order_id,
        "orderListId": t.list_id,
        "price": num(t.price),
        "qty": num(t.qty),
        "quoteQty": num(t.price * t.qty),
        "commission": num(t.commission),
        "commissionAsset": t.commission_asset,
        "time": t.time,
        "isBuyer": t.is_buyer,
        "isMaker": t.is_maker,
        "isBestMatch": True,
    }


def order_list(
    ex: SimExchange, olist: OrderList, reports: bool, cancel_id: str | None = None
) -> dict[str, Any]:
    orders = ex.list_orders(olist)
    done = all(not o.is_open for o in orders)
    out: dict[str, Any] = {
        "orderListId": olist.list_id,
        "contingencyType": "OCO",
        "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
        "listOrderStatus": "ALL_DONE" if done else "EXECUTING",
        "listClientOrderId": olist.list_client_id,
        "transactionTime": max((o.updated_ts for o in orders), default=olist.created_ms),
        "symbol": ex.ids[olist.symbol],
        "orders": [
            {"symbol": ex.ids[o.symbol], "orderId": o.seq, "clientOrderId": o.client_id}
            for o in orders
        ],
    }
    if reports:
        out["orderReports"] = [
            canceled(ex, o, cancel_id) if cancel_id is not None else _report(ex, o) for o in orders
        ]
    return out


def _report(ex: SimExchange, o: BookOrder) -> dict[str, Any]:
    out = order(ex, o)
    out["transactTime"] = o.created_ts
    for name in ("time", "updateTime", "isWorking"):
        out.pop(name, None)
    if ex.order_meta(o.account_id, o).iceberg_qty is None:
        out.pop("icebergQty")  # sent only for an order that asked for one
    return out


def account(ex: SimExchange, account_id: str, omit_zero: bool) -> dict[str, Any]:
    fees = ex.core.fees
    balances = [
        {"asset": a, "free": num(b.free), "locked": num(b.locked)}
        for a, b in ex.sub(account_id).balances().items()
        if not omit_zero or b.total != ZERO
    ]
    return {
        "makerCommission": int(fees.maker * 10_000),
        "takerCommission": int(fees.taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": num(fees.maker),
            "taker": num(fees.taker),
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": ex.now_ms,
        "accountType": "SPOT",
        "balances": balances,
        "permissions": ["SPOT"],
        "uid": abs(hash(account_id)) % 10**9,
    }
