"""A pool of Solana JSON-RPC nodes: the primary first, the others standing by.

Every call goes to the current endpoint. A timeout, a refused connection, HTTP 429 or 5xx, a
"node is behind" answer, or an answer whose context slot is more than ``lag_slots`` behind the
best slot seen marks the endpoint down and the call is made again on the next healthy one
(``sendTransaction`` too: the signature is the transaction's idempotency key, so a node that
sees it twice executes it once). :meth:`RpcPool.probe` (getHealth + getSlot on every
endpoint, run every ``probe_every_s`` by a component) marks endpoints up again and fails back
to the primary once it is healthy.

Request bodies for the fixed-shape calls come from ``solders.rpc.requests``; answers are read
as plain JSON, because solders' typed responses refuse shapes real nodes send (and the ones
this venue needs are a few fields).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from solders.commitment_config import CommitmentLevel
from solders.rpc.config import RpcContextConfig, RpcSignatureStatusConfig
from solders.rpc.requests import (
    GetBlockHeight,
    GetHealth,
    GetLatestBlockhash,
    GetSignatureStatuses,
    GetSlot,
)
from solders.signature import Signature

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.runtime.backoff import ceiling_s
from rampart.runtime.hosts import is_loopback
from rampart.venues.solana.observe import NullObserver, SwapObserver

log = structlog.get_logger("rampart.venues.solana.rpc")

NODE_BEHIND = -32005
SEND_METHODS = frozenset({"sendTransaction"})


class RpcError(VenueError):
    """The node answered the call with a JSON-RPC error (it is up; the request was refused)."""

    def __init__(self, message: str, rpc_code: int, data: Any = None) -> None:
        super().__init__(message, code="rpc_error")
        self.rpc_code = rpc_code
        self.data = data


class _EndpointFailed(Exception):
    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def endpoint_name(url: str) -> str:
    """How a node is named in metrics and logs: its host, and its path only on loopback (the
    stand-in's nodes). RPC providers put API keys in the query or in the path
    (``https://x.example/<token>/``), so neither leaves the process for a remote node."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if is_loopback(parts.hostname):
        return f"{host}{parts.path}".rstrip("/") or host
    return host or "rpc"


def _names(urls: Sequence[str]) -> list[str]:
    """Unique names: a second node on the same host is ``host#2``."""
    out: list[str] = []
    for url in urls:
        name = endpoint_name(url)
        n, unique = 1, name
        while unique in out:
            n += 1
            unique = f"{name}#{n}"
        out.append(unique)
    return out


@dataclass(slots=True)
class Endpoint:
    url: str
    name: str
    up: bool = True
    slot: int = 0
    """The last slot this node said it was at (0: not known yet)."""
    lag: int = 0
    reason: str = ""


class RpcPool:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
        lag_slots: int = 50,
        observer: SwapObserver | None = None,
        rounds: int = 2,
        backoff_base_s: float = 0.2,
        backoff_cap_s: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``urls``: the primary first. ``rounds``: how many times every endpoint is tried
        before a call fails (a backoff of ``min(cap, base × 2ⁿ)`` between rounds).
        ``client`` is shared and closed by its owner; without one the pool makes its own."""
        if not urls:
            raise VenueError("The Solana venue needs at least one RPC node.", code="config")
        self.endpoints = [Endpoint(u, n) for u, n in zip(urls, _names(urls), strict=True)]
        self._own_client = client is None
        self.client = client or httpx.AsyncClient()
        self.timeout_s = timeout_s
        self.lag_slots = lag_slots
        self.observer: SwapObserver = observer or NullObserver()
        self.rounds = max(1, rounds)
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.sleep = sleep
        self.timer = timer
        self.current = 0
        self._ids = itertools.count(1)

    # -- state --------------------------------------------------------------------------------

    @property
    def best_slot(self) -> int:
        return max(e.slot for e in self.endpoints)

    @property
    def active(self) -> Endpoint:
        return self.endpoints[self.current]

    def up(self) -> dict[str, bool]:
        """Endpoint name -> whether it is taking calls (health checks and the RpcDown alert)."""
        return {e.name: e.up for e in self.endpoints}

    def state(self) -> list[dict[str, Any]]:
        best = self.best_slot
        return [
            {
                "endpoint": e.name,
                "up": e.up,
                "slot": e.slot,
                "lag_slots": max(0, best - e.slot) if e.slot else 0,
                "current": i == self.current,
                "reason": e.reason,
            }
            for i, e in enumerate(self.endpoints)
        ]

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    # -- calls --------------------------------------------------------------------------------

    async def call(self, method: str, params: list[Any] | None = None) -> Any:
        """The ``result`` of one call, failing over between endpoints (see the module)."""
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": 0, "method": method}
        if params is not None:
            body["params"] = params
        return await self._call(method, body)

    async def _call(self, method: str, body: dict[str, Any]) -> Any:
        reasons: list[str] = []
        for round_no in range(self.rounds):
            if round_no:
                await self.sleep(ceiling_s(round_no - 1, self.backoff_base_s, self.backoff_cap_s))
            for endpoint in self._order():
                try:
                    return await self._once(endpoint, method, body)
                except _EndpointFailed as failed:
                    reasons.append(f"{endpoint.name}: {failed.reason}")
                    self._mark_down(endpoint, failed.reason)
        last = reasons[-1].split(": ", 1)[-1] if reasons else "no answer"
        if method in SEND_METHODS:
            raise OutcomeUnknown(
                f"No Solana RPC node confirmed the transaction was received ({last}); "
                "it is followed by its signature until it lands or expires."
            )
        raise VenueError(f"Every Solana RPC node failed the {method} call ({last}).", "rpc_down")

    def _order(self) -> list[Endpoint]:
        """The current endpoint, then the healthy ones in priority order, then the rest (a
        node marked down may have come back since)."""
        first = self.endpoints[self.current]
        healthy = [e for e in self.endpoints if e.up and e is not first]
        down = [e for e in self.endpoints if not e.up and e is not first]
        return [first, *healthy, *down]

    def _mark_down(self, endpoint: Endpoint, reason: str) -> None:
        was_up = endpoint.up
        endpoint.up, endpoint.reason = False, reason
        if was_up:
            self.observer.endpoint_health(endpoint.name, False, endpoint.lag)
            log.warning("rpc_endpoint_down", endpoint=endpoint.name, reason=reason)
        if self.endpoints[self.current] is endpoint:
            target = next((e for e in self._order()[1:] if e.up), None)
            if target is not None:
                self._switch(target, reason)

    def _switch(self, target: Endpoint, reason: str) -> None:
        source = self.endpoints[self.current]
        if target is source:
            return
        self.current = self.endpoints.index(target)
        self.observer.failover(source.name, target.name, reason)
        log.info("rpc_failover", from_endpoint=source.name, to_endpoint=target.name, reason=reason)

    async def _once(self, endpoint: Endpoint, method: str, body: dict[str, Any]) -> Any:
        body = {**body, "id": next(self._ids)}
        started = self.timer()
        outcome = "ok"
        try:
            try:
                response = await self.client.post(
                    endpoint.url,
                    content=json.dumps(body),
                    headers={"content-type": "application/json"},
                    timeout=self.timeout_s,
                )
            except httpx.TimeoutException:
                outcome = "timeout"
                raise _EndpointFailed(outcome, "timed out") from None
            except httpx.TransportError as exc:
                outcome = "down"
                raise _EndpointFailed(outcome, f"unreachable ({type(exc).__name__})") from None
            if response.status_code == 429:
                outcome = "http_429"
                raise _EndpointFailed(outcome, "rate limited (HTTP 429)")
            if response.status_code >= 500:
                outcome = "http_5xx"
                raise _EndpointFailed(outcome, f"server error (HTTP {response.status_code})")
            try:
                answer = response.json()
            except ValueError:
                outcome = "down"
                raise _EndpointFailed(outcome, "answered something that is not JSON") from None
            if not isinstance(answer, dict):
                outcome = "down"
                raise _EndpointFailed(outcome, "answered something that is not JSON-RPC")
            error = answer.get("error")
            if error is not None:
                outcome = "rpc_error"
                code = error.get("code") if isinstance(error, dict) else None
                message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
                if code == NODE_BEHIND:
                    raise _EndpointFailed(outcome, message or "the node is behind")
                raise RpcError(
                    message or "the node refused the call",
                    code if isinstance(code, int) else 0,
                    error.get("data") if isinstance(error, dict) else None,
                )
            if response.status_code >= 400:
                outcome = "rpc_error"
                raise _EndpointFailed(outcome, f"refused the call (HTTP {response.status_code})")
            result = answer.get("result")
            self._note_slot(endpoint, method, result)
            return result
        finally:
            self.observer.rpc_call(endpoint.name, method, outcome, self.timer() - started)

    def _note_slot(self, endpoint: Endpoint, method: str, result: Any) -> None:
        """Learn the node's slot from the answer; one far behind the best is lagging."""
        slot: Any = None
        if method == "getSlot":
            slot = result
        elif isinstance(result, dict) and isinstance(result.get("context"), dict):
            slot = result["context"].get("slot")
        if not isinstance(slot, int) or isinstance(slot, bool):
            return
        endpoint.slot = max(endpoint.slot, slot) if method != "getSlot" else slot
        best = self.best_slot
        endpoint.lag = best - slot
        if endpoint.lag > self.lag_slots:
            raise _EndpointFailed("ok", f"{endpoint.lag} slots behind the best node")

    # -- probes -------------------------------------------------------------------------------

    async def probe(self) -> None:
        """getHealth + getSlot on every endpoint; mark each up or down, and fail back to the
        first healthy one in priority order (the primary whenever it is healthy)."""
        results = await asyncio.gather(*(self._probe_one(e) for e in self.endpoints))
        best = max([s for s in results if s is not None] + [self.best_slot])
        for endpoint, slot in zip(self.endpoints, results, strict=True):
            if slot is None:
                continue
            endpoint.lag = max(0, best - slot)
            if endpoint.lag > self.lag_slots:
                self._set_health(endpoint, False, f"{endpoint.lag} slots behind the best node")
            else:
                self._set_health(endpoint, True, "")
        target = next((e for e in self.endpoints if e.up), None)
        if target is not None and target is not self.active:
            reason = "primary healthy again" if target is self.endpoints[0] else "probe"
            self._switch(target, reason)

    def _set_health(self, endpoint: Endpoint, up: bool, reason: str) -> None:
        if endpoint.up != up:
            log.info("rpc_endpoint_health", endpoint=endpoint.name, up=up, reason=reason)
        endpoint.up, endpoint.reason = up, reason
        self.observer.endpoint_health(endpoint.name, up, endpoint.lag)

    async def _probe_one(self, endpoint: Endpoint) -> int | None:
        try:
            await self._once(endpoint, "getHealth", json.loads(GetHealth().to_json()))
            slot = await self._once(endpoint, "getSlot", json.loads(GetSlot().to_json()))
        except _EndpointFailed as failed:
            self._set_health(endpoint, False, failed.reason)
            return None
        except VenueError as exc:
            self._set_health(endpoint, False, exc.message)
            return None
        if not isinstance(slot, int):
            self._set_health(endpoint, False, "answered getSlot without a slot")
            return None
        endpoint.slot = slot
        return slot

    # -- typed helpers ------------------------------------------------------------------------

    async def slot(self) -> int:
        return int(await self._call("getSlot", json.loads(GetSlot().to_json())))

    async def block_height(self) -> int:
        return int(await self._call("getBlockHeight", json.loads(GetBlockHeight().to_json())))

    async def latest_blockhash(self) -> tuple[str, int]:
        config = RpcContextConfig(commitment=CommitmentLevel.Confirmed)
        body = json.loads(GetLatestBlockhash(config).to_json())
        result = await self._call("getLatestBlockhash", body)
        value = result["value"]
        return str(value["blockhash"]), int(value["lastValidBlockHeight"])

    async def signature_statuses(self, signatures: Sequence[str]) -> list[dict[str, Any] | None]:
        sigs = [Signature.from_string(s) for s in signatures]
        config = RpcSignatureStatusConfig(search_transaction_history=True)
        body = json.loads(GetSignatureStatuses(sigs, config).to_json())
        result = await self._call("getSignatureStatuses", body)
        value = result.get("value") if isinstance(result, dict) else None
        if not isinstance(value, list) or len(value) != len(sigs):
            raise VenueError("The Solana node answered signature statuses without them.", "data")
        return [v if isinstance(v, dict) else None for v in value]

    async def send_transaction(self, tx_base64: str) -> str:
        config = {
            "encoding": "base64",
            "skipPreflight": False,
            "preflightCommitment": "confirmed",
            "maxRetries": 0,
        }
        return str(await self.call("sendTransaction", [tx_base64, config]))

    async def transaction(self, signature: str, commitment: str = "confirmed") -> Any:
        config = {
            "encoding": "json",
            "commitment": commitment,
            "maxSupportedTransactionVersion": 0,
        }
        return await self.call("getTransaction", [signature, config])


__all__ = ["Endpoint", "RpcError", "RpcPool", "endpoint_name"]
