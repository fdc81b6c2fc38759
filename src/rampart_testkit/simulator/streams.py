"""Binance's websocket streams on the simulator, in Binance's own shapes.

What ccxt.pro's ``binance`` calls for spot (ccxt 4.5):

- **Market streams** at ``/ws/<n>`` (``wss://stream.binance.com:9443/ws`` on Binance):
  ``{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m"], "id": 1}`` is answered
  ``{"result": null, "id": 1}``; each kline event is ``{"e": "kline", "E", "s", "k": {...}}``
  (web-socket-streams.md). When market time moves, the candle that closed is sent with
  ``"x": true`` and the next one, forming, with ``"x": false``.
- **User data** through the WebSocket API at ``/ws-api/v3``:
  ``userDataStream.subscribe.signature`` (an HMAC of ``apiKey`` and ``timestamp``) is answered
  ``{"id", "status": 200, "result": {"subscriptionId": n}}``; events come wrapped as
  ``{"subscriptionId": n, "event": {...}}``: ``executionReport`` for each order change and
  fill, ``outboundAccountPosition`` for the balances after it (user-data-stream.md); an order
  amended in place (``order/amend/keepPriority``) is an ``executionReport`` with ``"x":
  "REPLACED"`` and its new quantity.

``POST /sim/ws/drop`` closes every open websocket (a test's disconnection); a client
reconnects and subscribes again. Streams cost no REST request weight, as on Binance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from rampart.domain.candles import Candle
from rampart.domain.money import ZERO
from rampart.venues.book import BookOrder
from rampart_testkit.simulator import bad_candles, signing, wire
from rampart_testkit.simulator.exchange import SimExchange
from rampart_testkit.simulator.records import ApiAccount, Trade
from rampart_testkit.simulator.server import CTX, SimContext, ctx_of

STREAM_PATH = "/ws"
"""The path a ``bad_candles`` fault is drawn for when the market stream sends a closed candle:
a fault whose ``paths`` name it spoils the stream too (by default it spoils the klines answers
only)."""
STREAM_VARIANTS = ("zero", "negative", "x1000", "x0.001", "stale")
"""The bad prints a stream can carry. Not ``duplicate``: over REST it is two answers for one
candle, which the feed sees disagree; on a stream the client keeps the later print only, a
candle 5 % off that no guard can tell from a real move inside its band (the guard's least band
is ±20 %, docs/operators/market-data-guard.md)."""
TICK_S = 0.02
"""How often an open stream looks for news (market time moved, an order changed)."""
STREAMS: web.AppKey[Streams] = web.AppKey("rampart_sim_streams")
_BY_CONTEXT: dict[int, Streams] = {}
"""By ``id`` of the simulator's context (a dataclass, unhashable); a new one takes its place."""


def streams_of(ctx: SimContext) -> Streams:
    """The open websockets of the simulator serving ``ctx`` (``sim.context``)."""
    return _BY_CONTEXT[id(ctx)]


@dataclass
class Streams:
    """The open websockets, so that a test can drop them all at once."""

    sockets: set[web.WebSocketResponse] = field(default_factory=set)
    dropped: int = 0
    opened: int = 0

    async def drop(self) -> int:
        open_now = list(self.sockets)
        for ws in open_now:
            await ws.close(code=1001, message=b"dropped by the simulator")
        self.dropped += len(open_now)
        return len(open_now)


# -- shapes -------------------------------------------------------------------------------------


def kline_event(ex: SimExchange, candle: Candle, closed: bool, event_ms: int) -> dict[str, Any]:
    return row_event(ex, candle.symbol, wire.kline(candle), closed, event_ms)


def row_event(
    ex: SimExchange, symbol: str, row: list[Any], closed: bool, event_ms: int
) -> dict[str, Any]:
    """The kline event of a klines row (Binance's REST shape), as the stream sends it."""
    symbol_id = ex.ids[symbol]
    return {
        "e": "kline",
        "E": event_ms,
        "s": symbol_id,
        "k": {
            "t": row[0],
            "T": row[6],
            "s": symbol_id,
            "i": _interval(ex.tape.timeframe_ms),
            "f": -1,
            "L": -1,
            "o": row[1],
            "c": row[4],
            "h": row[2],
            "l": row[3],
            "v": row[5],
            "n": 0,
            "x": closed,
            "q": row[7],
            "V": "0.00000000",
            "Q": "0.00000000",
            "B": "0",
        },
    }


def closed_rows(ctx: SimContext, symbol: str, last: Candle) -> list[list[Any]]:
    """What the stream sends for the candle that closed: its row, or, while a ``bad_candles``
    fault fires on ``/ws``, that row spoiled as a bad print on the stream would be (a price
    variant, :data:`STREAM_VARIANTS`: a stream has no answer to reorder or leave a hole in),
    recorded as the klines answer's are."""
    row = wire.kline(last)
    faults = ctx.faults
    for fault in faults.draw_bad_candles(STREAM_PATH):
        variant = fault.variant
        if variant == bad_candles.RANDOM or variant not in STREAM_VARIANTS:
            variant = faults.rng.choice(STREAM_VARIANTS)
        tail = ctx.exchange.tape.history.get(symbol)

        def older(back: int, tail: Any = tail) -> list[Any] | None:
            return wire.kline(tail[-1 - back]) if tail and len(tail) > back else None

        rows, spoiled = bad_candles.corrupt([row], symbol, variant, faults.rng, set(), older)
        if spoiled is not None:
            faults.corrupted.append(spoiled)
            return rows
    return [row]


def _interval(tf_ms: int) -> str:
    return next(k for k, v in wire.INTERVALS.items() if v == tf_ms)


def forming(candle: Candle) -> Candle:
    """The next candle as it opens: the last close, nothing traded yet."""
    c = candle.close
    return Candle(candle.symbol, candle.close_ts, c, c, c, c, 0.0, candle.timeframe_ms)


def execution_report(
    ex: SimExchange, o: BookOrder, trade: Trade | None, filled: Decimal, quote: Decimal
) -> dict[str, Any]:
    """``executionReport`` for ``o``: a fill (``trade``) or a change of status."""
    meta = ex.order_meta(o.account_id, o)
    status = wire.status_of(o, meta)
    if trade is not None:
        execution = "TRADE"
        status = "FILLED" if filled >= o.qty else "PARTIALLY_FILLED"
    else:
        execution = {"PARTIALLY_FILLED": "NEW", "FILLED": "NEW"}.get(status, status)
    out: dict[str, Any] = {
        "e": "executionReport",
        "E": ex.now_ms,
        "s": ex.ids[o.symbol],
        "c": o.client_id,
        "S": o.side.value.upper(),
        "o": meta.binance_type,
        "f": meta.time_in_force or "GTC",
        "q": wire.num(o.qty),
        "p": wire.num(o.price or ZERO),
        "P": wire.num(o.stop_price or ZERO),
        "F": wire.num(meta.iceberg_qty),
        "g": meta.list_id,
        "C": "",
        "x": execution,
        "X": status,
        "r": "NONE",
        "i": o.seq,
        "l": wire.num(trade.qty if trade else ZERO),
        "z": wire.num(filled),
        "L": wire.num(trade.price if trade else ZERO),
        "n": wire.num(trade.commission) if trade else "0",
        "N": trade.commission_asset if trade else None,
        "T": trade.time if trade else o.updated_ts,
        "t": trade.trade_id if trade else -1,
        "I": o.seq,
        "w": o.is_open and (o.stop_price is None or o.triggered),
        "m": trade.is_maker if trade else False,
        "M": False,
        "O": o.created_ts,
        "Z": wire.num(quote),
        "Y": wire.num(trade.price * trade.qty if trade else ZERO),
        "Q": wire.num(meta.quote_qty),
        "V": "NONE",
    }
    if out["w"]:
        out["W"] = o.created_ts
    return out


def account_position(ex: SimExchange, account_id: str) -> dict[str, Any]:
    balances = ex.sub(account_id).balances()
    return {
        "e": "outboundAccountPosition",
        "E": ex.now_ms,
        "u": ex.now_ms,
        "B": [
            {"a": a, "f": wire.num(b.free), "l": wire.num(b.locked)} for a, b in balances.items()
        ],
    }


# -- market streams ------------------------------------------------------------------------------


async def _send(ws: web.WebSocketResponse, data: Any) -> None:
    # A client killed mid-stream (a chaos run's kill -9) leaves its socket closing: what it
    # missed is its new holder's to ask for, as on the exchange, not a server error.
    with contextlib.suppress(ConnectionResetError):
        await ws.send_str(json.dumps(data))


LEFT = "the client left before the handshake's answer"


async def _opened(ws: web.WebSocketResponse, request: web.Request) -> bool:
    """The handshake answered; false when the client left before its answer (a worker dropping
    a shard's streams, or killed, while the server was slow): nothing to serve."""
    try:
        await ws.prepare(request)
    except ConnectionResetError:
        return False
    return True


async def market_stream(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    streams = request.app[STREAMS]
    ws = web.WebSocketResponse(heartbeat=None)
    if not await _opened(ws, request):
        return web.Response(status=400, text=LEFT)  # never delivered: its writes fail quietly
    streams.sockets.add(ws)
    streams.opened += 1
    wanted: dict[str, str] = {}  # symbol id → unified symbol
    sent: dict[str, int] = {}  # unified symbol → open time of the last closed candle sent

    async def push() -> None:
        ex = ctx.exchange
        while not ws.closed:
            for symbol in list(wanted.values()):
                last = ex.tape.last(symbol)
                if last is None or sent.get(symbol) == last.ts:
                    continue
                now = ex.now_ms
                for row in closed_rows(ctx, symbol, last):
                    await _send(ws, row_event(ex, symbol, row, True, now))
                await _send(ws, kline_event(ex, forming(last), False, now))
                sent[symbol] = last.ts
            await asyncio.sleep(TICK_S)

    pusher = asyncio.create_task(push())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except ValueError:
                await _send(ws, {"code": 3, "msg": "Invalid JSON: expected value at line 1"})
                continue
            method = body.get("method")
            if method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
                await _send(ws, {"code": 2, "msg": f"Invalid request: unknown variant {method}"})
                continue
            for name in body.get("params") or []:
                symbol_id, _, kind = str(name).partition("@")
                symbol = ctx.exchange.symbols_by_id.get(symbol_id.upper())
                if symbol is None or not kind.startswith("kline_"):
                    continue
                if method == "SUBSCRIBE":
                    wanted[symbol_id.upper()] = symbol
                else:
                    wanted.pop(symbol_id.upper(), None)
            await _send(ws, {"result": None, "id": body.get("id")})
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
        streams.sockets.discard(ws)
    return ws


# -- user data (WebSocket API) -------------------------------------------------------------------


@dataclass
class _Watched:
    acct: ApiAccount
    subscription: int
    seen_trades: set[int] = field(default_factory=set)
    orders: dict[str, tuple[str, Decimal]] = field(default_factory=dict)
    quote: dict[str, Decimal] = field(default_factory=dict)
    qty: dict[str, Decimal] = field(default_factory=dict)
    """Each order's quantity when last seen: an open order whose quantity moved was amended."""


def _signed_account(ctx_exchange: SimExchange, params: dict[str, Any]) -> ApiAccount | None:
    key = str(params.get("apiKey") or "")
    acct = ctx_exchange.keys.get(key)
    signature = params.get("signature")
    if acct is None or not isinstance(signature, str):
        return None
    rest = {k: v for k, v in params.items() if k != "signature"}
    payload = urlencode(sorted((k, str(v)) for k, v in rest.items()))
    return acct if signing.sign(payload, acct.secret) == signature else None


def _orders_of(ex: SimExchange, acct: ApiAccount) -> list[BookOrder]:
    sub = ex.sub(acct.account_id)
    return [o for o in (*sub.open.values(), *sub.done.values()) if o.seq > 0]


def _state(ex: SimExchange, o: BookOrder) -> tuple[str, Decimal]:
    return wire.status_of(o, ex.order_meta(o.account_id, o)), o.filled_qty


def _news(ex: SimExchange, w: _Watched) -> list[dict[str, Any]]:
    """The events since the last look: each fill in trade order, then changes of status."""
    events: list[dict[str, Any]] = []
    by_seq = {o.seq: o for o in _orders_of(ex, w.acct)}
    fresh = [t for t in ex.trades[w.acct.account_id] if t.trade_id not in w.seen_trades]
    for t in sorted(fresh, key=lambda t: t.trade_id):
        w.seen_trades.add(t.trade_id)
        o = by_seq.get(t.order_id)
        if o is None:
            continue
        if o.client_id not in w.orders:
            events.append(execution_report(ex, o, None, ZERO, ZERO) | {"x": "NEW", "X": "NEW"})
            w.orders[o.client_id] = ("NEW", ZERO)
        filled = w.orders[o.client_id][1] + t.qty
        quote = w.quote.get(o.client_id, ZERO) + t.price * t.qty
        w.quote[o.client_id] = quote
        events.append(execution_report(ex, o, t, filled, quote))
        w.orders[o.client_id] = (events[-1]["X"], filled)
    for o in sorted(by_seq.values(), key=lambda o: o.seq):
        state = _state(ex, o)
        before = w.orders.get(o.client_id)
        changed = before is None or (
            before[0] != state[0] and state[0] not in ("FILLED", "PARTIALLY_FILLED")
        )
        if changed:
            events.append(execution_report(ex, o, None, o.filled_qty, o.filled_notional))
        elif o.is_open and w.qty.get(o.client_id, o.qty) != o.qty:
            # Amended in place (routes_amend): Binance reports it as execution type REPLACED.
            report = execution_report(ex, o, None, o.filled_qty, o.filled_notional)
            events.append(report | {"x": "REPLACED"})
        w.orders[o.client_id] = state
        w.qty[o.client_id] = o.qty
    return events


async def user_data(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    streams = request.app[STREAMS]
    ws = web.WebSocketResponse(heartbeat=None)
    if not await _opened(ws, request):
        return web.Response(status=400, text=LEFT)  # never delivered: its writes fail quietly
    streams.sockets.add(ws)
    streams.opened += 1
    watched: list[_Watched] = []

    async def push() -> None:
        ex = ctx.exchange
        while not ws.closed:
            for w in watched:
                events = _news(ex, w)
                for event in events:
                    await _send(ws, {"subscriptionId": w.subscription, "event": event})
                if events:
                    event = account_position(ex, w.acct.account_id)
                    await _send(ws, {"subscriptionId": w.subscription, "event": event})
            await asyncio.sleep(TICK_S)

    pusher = asyncio.create_task(push())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except ValueError:
                await _send(ws, {"id": None, "status": 400, "error": {"code": -1, "msg": "?"}})
                continue
            rid = body.get("id")
            if body.get("method") != "userDataStream.subscribe.signature":
                error = {"code": -1020, "msg": "This operation is not supported."}
                await _send(ws, {"id": rid, "status": 400, "error": error})
                continue
            acct = _signed_account(ctx.exchange, dict(body.get("params") or {}))
            if acct is None:
                error = {"code": -1022, "msg": "Signature for this request is not valid."}
                await _send(ws, {"id": rid, "status": 400, "error": error})
                continue
            w = _Watched(acct, len(watched))
            # What already happened is not news: events start from the subscription.
            w.seen_trades = {t.trade_id for t in ctx.exchange.trades[acct.account_id]}
            w.orders = {
                o.client_id: _state(ctx.exchange, o) for o in _orders_of(ctx.exchange, acct)
            }
            w.qty = {o.client_id: o.qty for o in _orders_of(ctx.exchange, acct)}
            watched.append(w)
            await _send(
                ws, {"id": rid, "status": 200, "result": {"subscriptionId": w.subscription}}
            )
    finally:
        pusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pusher
        streams.sockets.discard(ws)
    return ws


async def drop(request: web.Request) -> web.Response:
    closed = await request.app[STREAMS].drop()
    return web.json_response({"closed": closed})


def register(app: web.Application) -> None:
    app[STREAMS] = _BY_CONTEXT[id(app[CTX])] = Streams()
    app.router.add_get("/ws-api/v3", user_data)
    app.router.add_get("/ws", market_stream)
    app.router.add_get("/ws/{name}", market_stream)
    app.router.add_get("/stream", market_stream)
    app.router.add_post("/sim/ws/drop", drop)
