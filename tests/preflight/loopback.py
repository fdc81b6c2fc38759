"""The services' published answers served on 127.0.0.1 from a thread of their own, so that a
command under test (through CliRunner or as a real process) reaches them over TCP as it would
reach Binance, Jupiter, bags.fm and a Solana RPC node.

Every answer comes from a contract fixture; a test replaces one with :meth:`Loopback.answer`
(a wrong shape, a refusal, something that is not JSON). Paths: Binance's own under
``/api/v3`` (and ``/sapi/v1``: ``binance:sapi/…``), Jupiter under ``/jupiter``, bags.fm under
``/bags``, JSON-RPC posted to ``/rpc``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.contracts.binance.shapes import example, wire

HERE = Path(__file__).resolve().parent
CONTRACTS = HERE.parent / "contracts"

Answer = tuple[int, Any]
"""(HTTP status, body): a JSON value, or ``bytes`` sent as they are (not JSON)."""


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def binance_fixture(name: str) -> Any:
    """One Binance example's answer as Binance sends it (``tests/contracts/binance/``)."""
    return wire(example(name)["response"])


def rpc_fixture(name: str, key: str | None = None) -> Any:
    data = load(CONTRACTS / "solana_rpc" / f"{name}.json")
    return (data[key] if key else data)["body"]


def contract(service: str, name: str) -> Any:
    return load(CONTRACTS / service / name)


def _as_asked(quote: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    """A quote fixture for the tokens and amount asked: the example's own pair is one the
    documentation chose, its shape is what is served."""
    out = dict(quote)
    out["inputMint"] = query.get("inputMint", out["inputMint"])
    out["outputMint"] = query.get("outputMint", out["outputMint"])
    out["inAmount"] = query.get("amount", out["inAmount"])
    return out


NODE_SLOT = 341_197_933
"""The slot every answer of the loopback node is at: the examples come from different pages
(slot 1, 2792, 341197933), and a node whose answers go back in slots is one the pool takes
for lagging."""


def _as_node(answer: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC example as one node answers it: the request's id, the node's current slot."""
    out = {**answer, "id": request.get("id")}
    result = out.get("result")
    if isinstance(result, dict) and isinstance(result.get("context"), dict):
        out["result"] = {**result, "context": {**result["context"], "slot": NODE_SLOT}}
    return out


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class Loopback:
    def __init__(self) -> None:
        self.overrides: dict[str, Answer | Callable[[Seen], Answer]] = {}
        self.seen: list[Seen] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, name: str, status: int, body: Any) -> None:
        """From now on, answer ``name`` (``binance:time``, ``jupiter:quote``, ``rpc:getHealth``…)
        with ``status`` and ``body`` instead of its fixture."""
        self.overrides[name] = (status, body)

    def asked(self, name_prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(name_prefix)]

    # -- the documented answers -----------------------------------------------------------------

    def _default(self, name: str, seen: Seen) -> Answer:
        if name == "binance:time":
            body = binance_fixture("server_time")
            body["serverTime"] = time.time_ns() // 1_000_000  # the example's value is 2017
            return 200, body
        if name == "binance:exchangeInfo":
            return 200, binance_fixture("exchange_info")
        if name == "binance:account":
            return 200, binance_fixture("account")
        if name == "binance:sapi/account/apiRestrictions":
            return 200, binance_fixture("api_restrictions")
        if name == "jupiter:quote":
            exact_out = seen.query.get("swapMode") == "ExactOut"
            body = contract("jupiter", f"quote_exact_{'out' if exact_out else 'in'}.json")["body"]
            return 200, _as_asked(body, seen.query)
        if name == "bags:quote":  # preflight quotes a sale of the base token
            body = contract("bags", "quote_sell.json")["body"]
            return 200, {**body, "response": _as_asked(body["response"], seen.query)}
        if name == "rpc:getHealth":
            return 200, rpc_fixture("get_health", "healthy")
        if name == "rpc:getLatestBlockhash":
            return 200, rpc_fixture("get_latest_blockhash")
        if name == "rpc:getBalance":
            return 200, rpc_fixture("get_balance")
        if name == "rpc:getTokenAccountsByOwner":
            return 200, rpc_fixture("get_token_accounts_by_owner")
        return 404, {"error": f"no fixture for {name}"}

    @staticmethod
    def _name(method: str, path: str, body: Any) -> str:
        if path.startswith("/api/v3/"):
            return "binance:" + path.removeprefix("/api/v3/")
        if path.startswith("/sapi/v1/"):
            return "binance:sapi/" + path.removeprefix("/sapi/v1/")
        if path == "/jupiter/quote":
            return "jupiter:quote"
        if path == "/bags/trade/quote":
            return "bags:quote"
        if path == "/rpc" and method == "POST" and isinstance(body, dict):
            return f"rpc:{body.get('method')}"
        return f"other:{method} {path}"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        seen = Seen(
            request.method,
            request.path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            body,
        )
        self.seen.append(seen)
        name = self._name(request.method, request.path, body)
        found = self.overrides.get(name)
        status, answer = (
            (found(seen) if callable(found) else found) if found else self._default(name, seen)
        )
        if name.startswith("rpc:") and isinstance(answer, dict) and isinstance(body, dict):
            answer = _as_node(answer, body)
        if isinstance(answer, bytes):
            return web.Response(status=status, body=answer, content_type="text/html")
        if answer is None:
            return web.Response(status=status)
        return web.json_response(answer, status=status)

    # -- running --------------------------------------------------------------------------------

    def start(self) -> Loopback:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self._runner = runner
            self.port = runner.addresses[0][1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> Loopback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


__all__ = ["Answer", "Loopback", "Seen", "binance_fixture", "closed_port", "contract", "wire"]
