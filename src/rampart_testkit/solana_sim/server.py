"""The stand-in's aiohttp application: one chain behind every RPC node and both routes.

Routes: ``POST /rpc/{node}`` (JSON-RPC, :mod:`.rpc`), Jupiter under ``/jup/swap/v1`` and bags
under ``/bags/api/v1`` (:mod:`.swap_api`), admin under ``/sim`` (:mod:`.admin`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from rampart_testkit.solana_sim.chain import Chain
from rampart_testkit.solana_sim.faults import FaultSet


class BoundedDict(OrderedDict[str, Any]):
    """Keeps the newest ``size`` entries: a soak's quotes must not grow memory without end."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass
class SolanaSimContext:
    chain: Chain
    faults: FaultSet = field(default_factory=FaultSet)
    api_key: str = field(default_factory=lambda: "sim-" + secrets.token_hex(12))
    """bags.fm's key (``x-api-key``)."""
    jupiter_key: str = field(default_factory=lambda: "jup-" + secrets.token_hex(12))
    """Jupiter's key (``x-api-key``): api.jup.ag answers 401 without it."""
    slot_ms: int = 400
    requests: Counter[str] = field(default_factory=Counter)
    bags_quotes: BoundedDict = field(default_factory=lambda: BoundedDict(10_000))
    """bags.fm's quotes by requestId, for the swap built from one (it keeps them a minute)."""
    pubsub: Any = None
    """The nodes' PubSub websocket (:class:`~rampart_testkit.solana_sim.pubsub.PubSub`)."""

    def state(self) -> dict[str, Any]:
        out = self.chain.state()
        out["requests"] = dict(self.requests)
        out["faults"] = self.faults.state()
        return out


CTX: web.AppKey[SolanaSimContext] = web.AppKey("solana_sim_ctx", SolanaSimContext)


def ctx_of(request: web.Request) -> SolanaSimContext:
    return request.app[CTX]


def close_connection(request: web.Request) -> web.Response:
    """Answer nothing: the client sees the connection closed (a node that is down)."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=503)


def http_fault(
    request: web.Request,
    target: str,
    busy: dict[str, Any] | None = None,
    broken: dict[str, Any] | None = None,
) -> web.Response | None:
    """The answer of an HTTP fault on ``target`` (a node or route): ``busy`` is the body of
    a 429, ``broken`` of a 503; None when no fault fires."""
    ctx = ctx_of(request)
    fault = ctx.faults.take(("http429", "http5xx", "flap"), target)
    if fault is None:
        return None
    if fault.kind == "http429":
        return web.json_response(
            busy or {"error": "Too many requests"},
            status=429,
            headers={"Retry-After": str(fault.retry_after)},
        )
    return web.json_response(broken or {"error": "Service unavailable"}, status=503)


async def _ticker(ctx: SolanaSimContext) -> None:
    """Advance one slot every ``slot_ms``; awaiting the interval keeps the loop free between."""
    while True:
        await asyncio.sleep(ctx.slot_ms / 1000)
        ctx.chain.advance(1)


def make_app(ctx: SolanaSimContext) -> web.Application:
    from rampart_testkit.solana_sim import admin, pubsub, rpc, swap_api

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[CTX] = ctx
    rpc.register(app)
    pubsub.register(app, ctx)
    swap_api.register(app)
    admin.register(app)

    async def ticking(app: web.Application) -> Any:
        task = asyncio.create_task(_ticker(ctx)) if ctx.slot_ms > 0 else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(ticking)
    return app
