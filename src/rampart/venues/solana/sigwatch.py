"""Confirmation by ``signatureSubscribe`` over an RPC node's PubSub websocket.

Polling ``getSignatureStatuses`` learns a landing one poll late at best and spends two calls
a poll; a subscription is told in the slot the signature reaches the commitment. The node
pushes one ``signatureNotification`` and cancels the subscription itself (Solana RPC
reference; shapes in ``tests/contracts/solana_rpc/signature_subscribe.json``).

The watch is an accelerator, never the authority: the venue still settles an attempt from
``getSignatureStatuses`` + ``getTransaction`` once told, and keeps polling (slower) while a
subscription is silent. When the socket cannot be opened, or closes, every waiting
subscription is marked lost (the venue goes back to polling at its own pace) and the next
connection is tried only after ``retry_s`` of the venue's timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog

log = structlog.get_logger("rampart.venues.solana.sigwatch")


@dataclass(eq=False)
class Watched:
    """One signature's subscription: ``event`` is set when the node told its outcome
    (``told``) or when the socket was lost (``lost``): either way, look now."""

    signature: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    told: bool = False
    lost: bool = False
    err: Any = None
    sub_id: int | None = None


class SignatureWatch:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        commitment: str = "confirmed",
        timeout_s: float = 5.0,
        retry_s: float = 30.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.urls = list(urls)
        self.commitment = commitment
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.timer = timer
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()
        self._down_until = 0.0
        self._next_url = 0
        self._ids = itertools.count(1)
        self._by_request: dict[int, Watched] = {}
        self._by_sub: dict[int, Watched] = {}
        self.connected = False

    async def watch(self, signature: str) -> Watched | None:
        """Subscribe to ``signature`` (before it is sent: no notification can be missed);
        None when no websocket is available now (the caller polls)."""
        ws = await self._socket()
        if ws is None:
            return None
        w = Watched(signature)
        rid = next(self._ids)
        self._by_request[rid] = w
        request = {
            "jsonrpc": "2.0",
            "id": rid,
            "method": "signatureSubscribe",
            "params": [signature, {"commitment": self.commitment}],
        }
        try:
            await ws.send_str(json.dumps(request))
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            self._by_request.pop(rid, None)
            await self._lost(f"send failed ({type(exc).__name__})")
            return None
        return w

    async def forget(self, w: Watched | None) -> None:
        """Drop a subscription no longer waited on (the node drops it itself once told)."""
        if w is None or w.told or w.lost:
            return
        w.lost = True
        if w.sub_id is None:
            return  # its acknowledgement finds it lost and unsubscribes then
        self._by_sub.pop(w.sub_id, None)
        await self._unsubscribe(w.sub_id)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._close_socket()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the socket ---------------------------------------------------------------------------

    async def _socket(self) -> aiohttp.ClientWebSocketResponse | None:
        if self._ws is not None and not self._ws.closed:
            return self._ws
        if not self.urls or self.timer() < self._down_until:
            return None
        async with self._connecting:
            if self._ws is not None and not self._ws.closed:
                return self._ws
            url = self.urls[self._next_url % len(self.urls)]
            # A swap waits for this before it is sent: the connect is bounded, the socket's
            # life is not (no total timeout, which would cut a long-lived websocket).
            bound = aiohttp.ClientTimeout(
                total=None, connect=self.timeout_s, sock_connect=self.timeout_s
            )
            self._session = self._session or aiohttp.ClientSession(timeout=bound)
            try:
                self._ws = await self._session.ws_connect(
                    url, timeout=aiohttp.ClientWSTimeout(ws_close=self.timeout_s), heartbeat=30
                )
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self._next_url += 1  # the next node's websocket, next time
                self._down_until = self.timer() + self.retry_s
                log.warning("rpc_websocket_unavailable", error=type(exc).__name__, polling=True)
                return None
            self.connected = True
            self._reader = asyncio.create_task(self._read(self._ws))
            return self._ws

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    await self._on_message(msg.data)
        finally:
            if self._ws is ws:
                await self._lost("closed")

    async def _on_message(self, data: str) -> None:
        try:
            body = json.loads(data)
        except ValueError:
            return  # not JSON: a node's noise, nothing to match
        if not isinstance(body, dict):
            return
        if body.get("method") == "signatureNotification":
            params = body.get("params")
            params = params if isinstance(params, dict) else {}
            w = self._by_sub.pop(params.get("subscription"), None)  # type: ignore[arg-type]
            result = params.get("result")
            value = result.get("value") if isinstance(result, dict) else None
            if w is not None and isinstance(value, dict):
                w.told, w.err = True, value.get("err")
                w.event.set()
            return
        rid = body.get("id")
        w = self._by_request.pop(rid, None) if isinstance(rid, int) else None
        if w is None:
            return
        sub_id = body.get("result")
        if not isinstance(sub_id, int) or isinstance(sub_id, bool):
            log.info("rpc_websocket_refused", error=body.get("error"), polling=True)
            w.lost = True
            w.event.set()
            return
        if w.lost:
            await self._unsubscribe(sub_id)  # forgotten before the node acknowledged it
            return
        w.sub_id = sub_id
        self._by_sub[sub_id] = w

    async def _unsubscribe(self, sub_id: int) -> None:
        if self._ws is None or self._ws.closed:
            return
        request = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": "signatureUnsubscribe",
            "params": [sub_id],
        }
        with contextlib.suppress(aiohttp.ClientError, ConnectionError, RuntimeError):
            await self._ws.send_str(json.dumps(request))

    async def _lost(self, reason: str) -> None:
        """The socket is gone: every waiter is woken to poll, the next connect waits."""
        waiting = [*self._by_request.values(), *self._by_sub.values()]
        self._by_request.clear()
        self._by_sub.clear()
        for w in waiting:
            w.lost = True
            w.event.set()
        if self.connected:
            log.warning("rpc_websocket_lost", reason=reason, polling=True)
        self.connected = False
        self._down_until = self.timer() + self.retry_s
        await self._close_socket()

    async def _close_socket(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None and not ws.closed:
            with contextlib.suppress(aiohttp.ClientError, ConnectionError, RuntimeError):
                await ws.close()


__all__ = ["SignatureWatch", "Watched"]
