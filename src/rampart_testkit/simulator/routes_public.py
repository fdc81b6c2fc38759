"""Binance public market-data endpoints: ping, time, exchangeInfo, klines and tickers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from rampart.domain.errors import present
from rampart_testkit.simulator import bad_candles, wire
from rampart_testkit.simulator import binance_codes as codes
from rampart_testkit.simulator.server import Params, SimContext, public

DAY_MS = 86_400_000


def int_param(params: Params, name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise codes.illegal(name) from None


def symbols_param(ctx: SimContext, params: Params) -> list[str]:
    """``symbol=X`` or ``symbols=["X","Y"]``, or every symbol when neither is given."""
    one = params.get("symbol")
    if one is not None:
        return [ctx.exchange.symbol_of(one)]
    many = params.get("symbols")
    if many is None:
        return list(ctx.exchange.core.instruments)
    try:
        ids = json.loads(many)
    except ValueError:
        raise codes.illegal("symbols") from None
    if not isinstance(ids, list):
        raise codes.illegal("symbols")
    return [ctx.exchange.symbol_of(str(i)) for i in ids]


def ping(ctx: SimContext, params: Params) -> dict[str, Any]:
    return {}


def server_time(ctx: SimContext, params: Params) -> dict[str, Any]:
    return {"serverTime": ctx.server_ms()}


def exchange_info(ctx: SimContext, params: Params) -> dict[str, Any]:
    info = wire.exchange_info(ctx.exchange, ctx.server_ms(), ctx.weights.published)
    wanted = {ctx.exchange.ids[s] for s in symbols_param(ctx, params)}
    info["symbols"] = [s for s in info["symbols"] if s["symbol"] in wanted]
    return info


def klines(ctx: SimContext, params: Params, path: str = "/api/v3/klines") -> list[list[Any]]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    interval = params.get("interval")
    if interval is None:
        raise codes.mandatory("interval")
    span = wire.INTERVALS.get(interval)
    if span is None or span < ex.tape.timeframe_ms or span % ex.tape.timeframe_ms:
        raise codes.BinanceError(codes.BAD_INTERVAL, "Invalid interval.")
    limit = present(int_param(params, "limit", 500), "the limit (it has a default)")
    if not 1 <= limit <= 1000:
        raise codes.BinanceError(
            codes.ILLEGAL_CHARS, "Illegal characters found in parameter 'limit'."
        )
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    if span == ex.tape.timeframe_ms:
        rows = ex.tape.klines(symbol, start, end, limit)
    else:
        base = ex.tape.klines(symbol, None, end, len(ex.tape.history[symbol]))
        rolled = wire.aggregate(base, span)
        rows = (
            [c for c in rolled if c.ts >= start][:limit] if start is not None else rolled[-limit:]
        )
    return _spoiled(ctx, symbol, [wire.kline(c) for c in rows], path)


def _spoiled(ctx: SimContext, symbol: str, rows: list[list[Any]], path: str) -> list[list[Any]]:
    """The answer as a corrupting proxy passes it on: holes a ``gap`` made stay holes, and
    each ``bad_candles`` fault firing spoils its newest row (the tape itself stays true)."""
    faults = ctx.faults
    rows = bad_candles.fill_holes(rows, symbol, faults.holes)
    for fault in faults.draw_bad_candles(path):

        def older(back: int) -> list[Any] | None:
            tail = ctx.exchange.tape.history.get(symbol)
            return wire.kline(tail[-1 - back]) if tail and len(tail) > back else None

        rows, spoiled = bad_candles.corrupt(
            rows, symbol, fault.variant, faults.rng, faults.holes, older
        )
        if spoiled is not None:
            faults.corrupted.append(spoiled)
    return rows


def ticker_24h(ctx: SimContext, params: Params) -> Any:
    ex = ctx.exchange
    single = params.get("symbol") is not None
    out = [
        wire.ticker_24h(ex.ids[s], ex.tape.window(s, DAY_MS), ctx.server_ms())
        for s in symbols_param(ctx, params)
    ]
    return out[0] if single else out


def ticker_price(ctx: SimContext, params: Params) -> Any:
    ex = ctx.exchange
    single = params.get("symbol") is not None
    out = [
        {"symbol": ex.ids[s], "price": wire.num(ex.last_price(s))}
        for s in symbols_param(ctx, params)
    ]
    return out[0] if single else out


def book_ticker(ctx: SimContext, params: Params) -> Any:
    ex = ctx.exchange
    single = params.get("symbol") is not None
    out = []
    for s in symbols_param(ctx, params):
        price = wire.num(ex.last_price(s))
        out.append(
            {
                "symbol": ex.ids[s],
                "bidPrice": price,
                "bidQty": "1.00000000",
                "askPrice": price,
                "askQty": "1.00000000",
            }
        )
    return out[0] if single else out


def avg_price(ctx: SimContext, params: Params) -> dict[str, Any]:
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    mins = ex.core.instruments[symbol].rules.avg_price_mins or 5
    return {"mins": mins, "price": wire.num(ex.average_price(symbol)), "closeTime": ex.now_ms}


def depth(ctx: SimContext, params: Params) -> dict[str, Any]:
    """A one-level book at the last price: the simulator matches against candles, not a book."""
    ex = ctx.exchange
    symbol = ex.symbol_of(params.get("symbol"))
    inst = ex.core.instruments[symbol]
    last = ex.last_price(symbol)
    bid, ask = last - inst.tick_size, last + inst.tick_size
    candle = ex.tape.last(symbol)
    size = wire.num(inst.floor_qty(Decimal(str(candle.volume)) / 10) if candle else inst.min_qty)
    return {
        "lastUpdateId": ex.tape.steps,
        "bids": [[wire.num(bid), size]],
        "asks": [[wire.num(ask), size]],
    }


def system_status(ctx: SimContext, params: Params) -> dict[str, Any]:
    return {"status": 0, "msg": "normal"}


def register(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v3/ping", public(ping))
    r.add_get("/api/v3/time", public(server_time))
    r.add_get("/api/v3/exchangeInfo", public(exchange_info))
    r.add_get("/api/v3/klines", public(klines))
    r.add_get("/api/v3/uiKlines", public(lambda ctx, p: klines(ctx, p, "/api/v3/uiKlines")))
    r.add_get("/api/v3/ticker/24hr", public(ticker_24h))
    r.add_get("/api/v3/ticker/price", public(ticker_price))
    r.add_get("/api/v3/ticker/bookTicker", public(book_ticker))
    r.add_get("/api/v3/avgPrice", public(avg_price))
    r.add_get("/api/v3/depth", public(depth))
    r.add_get("/sapi/v1/system/status", public(system_status))
