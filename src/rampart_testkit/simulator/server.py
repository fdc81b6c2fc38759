"""The simulator's aiohttp application: request parsing, authentication, faults and errors.

Binance routes live in :mod:`rampart_testkit.simulator.routes_public` and
:mod:`rampart_testkit.simulator.routes_trading`; admin routes (``/sim/...``, no signature, loopback
only) in :mod:`rampart_testkit.simulator.routes_admin`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import structlog
from aiohttp import web

from rampart.domain.errors import present
from rampart_testkit.simulator import binance_codes as codes
from rampart_testkit.simulator import signing
from rampart_testkit.simulator.exchange import ApiAccount, SimExchange
from rampart_testkit.simulator.faults import AFTER, BEFORE, Fault, FaultSet
from rampart_testkit.simulator.weights import WeightLimits, weight

WS_PREFIXES = ("/ws", "/stream")
"""Websocket paths (``/ws/<n>``, ``/ws-api/v3``: rampart_testkit.simulator.streams), served
outside the REST middleware: a stream stays open, and costs no request weight."""

log = structlog.get_logger("rampart_testkit.simulator")

_peer: contextvars.ContextVar[str] = contextvars.ContextVar("sim_peer", default="?")
"""The address and port the request being handled came from (set by the middleware)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class SimContext:
    exchange: SimExchange
    faults: FaultSet
    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    inflight: int = 0
    request_limit: int | None = None
    """REQUEST_WEIGHT per minute per address before -1003 (HTTP 429), then 418 for an address
    that keeps sending (:mod:`rampart_testkit.simulator.weights`); None: counted, not refused.
    exchangeInfo publishes it (Binance's 6000 when None)."""
    clock_ms: Callable[[], int] | None = None
    """The real time the receive window is checked on (UTC ms), injected by a test that moves
    it itself; None: the wall clock. On an injected clock a ``latency`` fault makes the request
    arrive that much later (on the wall it has simply waited that long): whether it is still
    inside its window is then the test's to decide, however loaded the machine is."""
    weights: WeightLimits = field(default_factory=WeightLimits)
    first: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)
    """Per account, every new order's client id as it first arrived, accepted or not: when
    (real ms) and from which connection (address:port). A 24-hour soak sends thousands of
    orders, so it is one small tuple each, each connection's name kept once."""
    arrivals: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)
    """Client ids that arrived more than once (an order the client sent twice: the fleet
    chaos test's check), with each copy's time and connection: who sent a duplicate, and
    when (two ports, two connections: two senders or a retry on a new connection)."""
    _peers: dict[str, str] = field(default_factory=dict)
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._idle.set()
        self.weights.limit = self.request_limit

    def received(self, account_id: str, *client_ids: str) -> None:
        now, peer = self.real_ms(), _peer.get()
        peer = self._peers.setdefault(peer, peer)
        firsts = self.first.setdefault(account_id, {})
        for client_id in client_ids:
            came = (now, peer)
            first = firsts.setdefault(client_id, came)
            if first is came:
                continue
            seen = self.arrivals.setdefault((account_id, client_id), [first])
            seen.append(came)
            log.warning(
                "client_id_sent_twice",
                account=account_id,
                client_id=client_id,
                arrivals=[f"{_utc(ms)} from {who}" for ms, who in seen],
            )

    def sent_twice(self) -> list[tuple[str, str]]:
        return list(self.arrivals)

    def arrived(self) -> list[str]:
        """Every client id that arrived, once for each time it did (an id sent twice twice)."""
        once = [cid for firsts in self.first.values() for cid in firsts]
        again = [cid for (_, cid), seen in self.arrivals.items() for _ in seen[1:]]
        return once + again

    def twice_arrivals(self, account_id: str, client_id: str) -> str:
        """When and from which connection each copy of a client id came, in a few words."""
        seen = self.arrivals.get((account_id, client_id))
        if seen is None:
            once = self.first.get(account_id, {}).get(client_id)
            seen = [] if once is None else [once]
        return ", ".join(f"{_utc(ms)} from {who}" for ms, who in seen)

    def enter(self) -> None:
        self.inflight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.inflight -= 1
        if self.inflight == 0:
            self._idle.set()

    async def idle(self) -> None:
        """Wait until no Binance request is being handled (e.g. one its client gave up on)."""
        await self._idle.wait()

    def real_ms(self) -> int:
        """The simulator's real time without the skew fault (what weight windows run on)."""
        return time.time_ns() // 1_000_000 if self.clock_ms is None else self.clock_ms()

    def server_ms(self, late_ms: int = 0) -> int:
        """Real time plus the skew fault: what ``time`` says and what recvWindow is checked on.
        ``late_ms``: how long a ``latency`` fault held the request (counted on an injected
        clock only: the wall clock has moved on by itself)."""
        if self.clock_ms is None:
            return time.time_ns() // 1_000_000 + self.faults.skew_ms()
        return self.clock_ms() + late_ms + self.faults.skew_ms()


CTX: web.AppKey[SimContext] = web.AppKey("sim_ctx", SimContext)
LATE_MS: web.RequestKey[int] = web.RequestKey("sim_late_ms", int)
"""Per request: milliseconds its ``latency`` faults held it."""


def _utc(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}"


def ctx_of(request: web.Request) -> SimContext:
    return request.config_dict[CTX]


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(data, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_reply(exc: codes.BinanceError, headers: dict[str, str] | None = None) -> web.Response:
    return reply(exc.body(), exc.status, headers)


@dataclass(frozen=True)
class Params:
    """A request's parameters (query and form body merged) and what its signature covers."""

    values: dict[str, str]
    query: str
    body: str

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value != "" else None


async def params_of(request: web.Request) -> Params:
    query = request.rel_url.raw_query_string
    body = await request.text() if request.body_exists else ""
    values = dict(parse_qsl(query, keep_blank_values=True))
    values.update(parse_qsl(body, keep_blank_values=True))
    return Params(values, query, body)


async def authenticate(request: web.Request, params: Params) -> ApiAccount:
    ctx = ctx_of(request)
    key = request.headers.get("X-MBX-APIKEY")
    signing.check_key_shape(key)
    key = present(key, "the API key header (checked above)")
    acct = ctx.exchange.keys.get(key)
    if acct is None:
        raise codes.rejected_key()
    signing.check_timestamp(params.values, ctx.server_ms(request.get(LATE_MS, 0)))
    signed, signature = signing.split_signature(params.query, params.body)
    signing.check_signature(signed, signature, acct.secret)
    return acct


PublicHandler = Callable[[SimContext, Params], Any]
SignedHandler = Callable[[SimContext, Params, ApiAccount], Any]


def public(handler: PublicHandler) -> Handler:
    async def route(request: web.Request) -> web.StreamResponse:
        params = await params_of(request)
        return reply(handler(ctx_of(request), params))

    return route


def signed(handler: SignedHandler) -> Handler:
    async def route(request: web.Request) -> web.StreamResponse:
        params = await params_of(request)
        acct = await authenticate(request, params)
        return reply(handler(ctx_of(request), params, acct))

    return route


# -- faults -----------------------------------------------------------------------------------


def _drop(request: web.Request) -> web.Response:
    """Close the connection without a byte of answer; the client sees a disconnect."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    # aiohttp finds the transport gone and writes nothing.
    return web.Response(status=499)


async def _truncate(request: web.Request, response: web.Response) -> web.StreamResponse:
    body = response.body if isinstance(response.body, bytes) else b"{}"
    out = web.StreamResponse(status=response.status, headers={"Content-Type": "application/json"})
    out.content_length = len(body)
    await out.prepare(request)
    await out.write(body[: max(len(body) // 2, 1)])
    transport = request.transport
    if transport is not None:
        transport.abort()
    return out


def _malformed(response: web.Response) -> web.Response:
    body = response.body if isinstance(response.body, bytes) else b"{}"
    broken = b'{"code":200,"msg":<html>upstream ' + body[: len(body) // 2]
    return web.Response(body=broken, status=200, content_type="application/json")


def _before(ctx: SimContext, request: web.Request, fault: Fault) -> web.StreamResponse:
    if fault.kind == "drop":
        return _drop(request)
    if fault.kind in ("error", "flap"):  # a flapping venue fails as an erroring one does
        if fault.code is not None:
            msg = "Internal error; unable to process your request. Please try again."
            return reply({"code": fault.code, "msg": msg}, fault.status)
        return web.Response(text=f"{fault.status} Server Error", status=fault.status)
    # rate_limit
    if fault.ban:
        ctx.faults.retry_until_wall_ms = time.time_ns() // 1_000_000 + fault.retry_after_s * 1000
    return error_reply(codes.too_many_requests(6000), {"Retry-After": str(fault.retry_after_s)})


def _banned(ctx: SimContext) -> web.Response | None:
    until = ctx.faults.retry_until_wall_ms
    now = time.time_ns() // 1_000_000
    if until and now < until:
        wait = max((until - now + 999) // 1000, 1)
        return error_reply(codes.banned(until), {"Retry-After": str(wait)})
    return None


@web.middleware
async def binance_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Faults first, then the handler; Binance errors become their JSON answers."""
    ctx = ctx_of(request)
    path = request.path
    if path.startswith("/sim/") or path.startswith(WS_PREFIXES):
        return await handler(request)  # admin, and websockets (streams cost no REST weight)
    ctx.requests[path] += 1
    peer = request.transport.get_extra_info("peername") if request.transport else None
    _peer.set(f"{peer[0]}:{peer[1]}" if peer else "?")
    ctx.enter()
    try:
        return await _handle(ctx, request, handler)
    finally:
        ctx.leave()


async def _handle(ctx: SimContext, request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    firing = ctx.faults.draw(path, request.method)
    if any(f.kind == "latency" for f in firing):
        # The exchange has the whole request before it is slow: a client that gives up
        # meanwhile does not stop it (a timeout says nothing about whether an order exists).
        await request.read()
    for fault in firing:
        if fault.kind == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
            request[LATE_MS] = request.get(LATE_MS, 0) + fault.latency_ms
    verdict = ctx.weights.charge(
        request.remote or "?",
        ctx.real_ms(),
        weight(request.method, path, dict(request.rel_url.query)),
    )
    if verdict.status != 200:
        ctx.errors[verdict.status] += 1
        if verdict.status == 418:
            refusal = codes.banned(verdict.banned_until_ms)
        else:
            refusal = codes.too_many_requests(ctx.weights.published)
        return error_reply(
            refusal,
            {
                "Retry-After": str(verdict.retry_after_s),
                "X-MBX-USED-WEIGHT-1M": str(verdict.used),
            },
        )
    used = verdict.used
    banned = _banned(ctx)
    if banned is not None:
        ctx.errors[banned.status] += 1
        return banned
    for fault in firing:
        if fault.kind in BEFORE:
            response = _before(ctx, request, fault)
            ctx.errors[response.status] += 1
            return response
    try:
        result = await handler(request)
    except codes.BinanceError as exc:
        ctx.errors[exc.status] += 1
        result = error_reply(exc)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("simulator.request_failed", path=path, method=request.method)
        ctx.errors[500] += 1
        result = reply({"code": codes.UNKNOWN, "msg": "An unknown error occurred."}, 500)
    for fault in firing:
        if fault.kind not in AFTER or not isinstance(result, web.Response):
            continue
        if fault.kind == "lost_response":
            return _drop(request)
        if fault.kind == "malformed":
            return _malformed(result)
        return await _truncate(request, result)
    result.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
    return result


def make_app(ctx: SimContext) -> web.Application:
    from rampart_testkit.simulator import routes_admin, routes_public, routes_trading, streams

    app = web.Application(middlewares=[binance_middleware])
    app[CTX] = ctx
    routes_public.register(app)
    routes_trading.register(app)
    routes_admin.register(app)
    streams.register(app)
    return app
