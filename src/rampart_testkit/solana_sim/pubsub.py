"""The RPC nodes' PubSub websocket on ``GET /ws/{node}``: ``signatureSubscribe`` and
``signatureUnsubscribe`` in the shapes of the Solana RPC reference
(``tests/contracts/solana_rpc/signature_subscribe.json``).

A subscription is answered with its numeric id; once the signature reaches the asked
commitment at the node's view of the chain, one ``signatureNotification`` carries the landing
slot's context and ``{"err": ...}``, and the subscription is gone (the real node cancels it
after its one notification). The chain tells every open socket when it advances a slot; a
node with a ``down`` fault refuses the websocket like its HTTP side, and a ``silent`` node
(:attr:`PubSub.silent`) takes subscriptions and never notifies (a node whose pubsub lags).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from rampart_testkit.solana_sim import node_views
from rampart_testkit.solana_sim.rpc import COMMITMENT_RANK
from rampart_testkit.solana_sim.server import SolanaSimContext, close_connection, ctx_of


@dataclass
class _Sub:
    signature: str
    commitment: str


@dataclass(eq=False)
class _Socket:
    node: str
    ws: web.WebSocketResponse
    subs: dict[int, _Sub] = field(default_factory=dict)
    outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)


class PubSub:
    """Every open socket of every node, told by the chain when a slot passes."""

    def __init__(self, ctx: SolanaSimContext) -> None:
        self.ctx = ctx
        self.sockets: set[_Socket] = set()
        self.silent: set[str] = set()
        """Nodes that take subscriptions and never notify (a test's silent websocket)."""
        self.lag_s: dict[str, float] = {}
        """Nodes whose notifications go out this many seconds after the chain reached them
        (a node whose PubSub runs behind its RPC, as real ones do under load)."""
        self.notified = 0
        self._ids = itertools.count(1)
        ctx.chain.on_advance.append(self.check)

    def check(self) -> None:
        """Queue the notification of every subscription whose signature reached its
        commitment (called by the chain after each advance; sending is each socket's task)."""
        chain = self.ctx.chain
        for sock in list(self.sockets):
            if sock.node in self.silent:
                continue
            for sub_id, sub in list(sock.subs.items()):
                status = node_views.status_of(chain, sub.signature, chain.slot)
                if status is None:
                    continue
                rank = COMMITMENT_RANK.get(status["confirmationStatus"], -1)
                if rank < COMMITMENT_RANK[sub.commitment]:
                    continue
                del sock.subs[sub_id]
                self.notified += 1
                self._tell(
                    sock,
                    {
                        "jsonrpc": "2.0",
                        "method": "signatureNotification",
                        "params": {
                            "result": {
                                "context": {"slot": chain.slot},
                                "value": {"err": status["err"]},
                            },
                            "subscription": sub_id,
                        },
                    },
                )

    def _tell(self, sock: _Socket, note: dict[str, Any]) -> None:
        lag = self.lag_s.get(sock.node, 0.0)
        if lag <= 0:
            sock.outbox.put_nowait(note)
        else:
            asyncio.get_running_loop().call_later(lag, sock.outbox.put_nowait, note)

    def answer(self, sock: _Socket, body: Any) -> dict[str, Any]:
        rid = body.get("id") if isinstance(body, dict) else None
        method = body.get("method") if isinstance(body, dict) else None
        params = body.get("params") if isinstance(body, dict) else None
        params = params if isinstance(params, list) else []
        if method == "signatureSubscribe":
            config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
            commitment = config.get("commitment", "finalized")  # the documented default
            if not params or not isinstance(params[0], str) or commitment not in COMMITMENT_RANK:
                return _error(rid, -32602, "Invalid params")
            sub_id = next(self._ids)
            sock.subs[sub_id] = _Sub(params[0], commitment)
            self.ctx.requests["signatureSubscribe"] += 1
            return {"jsonrpc": "2.0", "result": sub_id, "id": rid}
        if method == "signatureUnsubscribe":
            if not params or not isinstance(params[0], int):
                return _error(rid, -32602, "Invalid params")
            found = sock.subs.pop(params[0], None) is not None
            if not found:
                return _error(rid, -32602, "Invalid subscription id.")
            return {"jsonrpc": "2.0", "result": True, "id": rid}
        return _error(rid, -32601, "Method not found")


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": rid}


async def handle(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    node = request.match_info["node"]
    if ctx.faults.take(("down",), node) is not None:
        return close_connection(request)
    pubsub = ctx.pubsub
    assert isinstance(pubsub, PubSub)  # noqa: S101 - make_app registers it with the route
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    sock = _Socket(node, ws)
    pubsub.sockets.add(sock)

    async def send() -> None:
        while True:
            await ws.send_json(await sock.outbox.get())

    sender = asyncio.create_task(send())
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                body = json.loads(msg.data)
            except ValueError:
                sock.outbox.put_nowait(_error(None, -32700, "Parse error"))
                continue
            sock.outbox.put_nowait(pubsub.answer(sock, body))
            pubsub.check()  # a signature already at its commitment is told at once
    finally:
        pubsub.sockets.discard(sock)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return ws


def register(app: web.Application, ctx: SolanaSimContext) -> None:
    pubsub = ctx.pubsub = PubSub(ctx)

    async def close_sockets(app: web.Application) -> None:
        # Open sockets would hold the server's shutdown until its timeout.
        for sock in list(pubsub.sockets):
            await sock.ws.close()

    app.on_shutdown.append(close_sockets)
    app.router.add_get("/ws/{node}", handle)
