"""A local OpenAI-compatible stand-in for tests and the bench, on 127.0.0.1.

Each call takes the next behaviour from ``script`` (then ``default``): ``valid`` answers with
``reply(messages)``, ``invalid_json`` with prose, ``slow`` never answers until the server
stops (the client's timeout ends the call), ``429`` and ``500`` refuse. ``calls`` counts every
request and ``by_behaviour`` each kind; ``latency_s`` delays valid answers (bench only).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

Reply = Callable[[Sequence[dict[str, str]]], str]
BEHAVIOURS = ("valid", "invalid_json", "slow", "429", "500")


def hold_reply(messages: Sequence[dict[str, str]]) -> str:
    del messages
    return json.dumps({"action": "hold", "confidence": 0.4, "rationale": "no edge"})


def enter_reply(messages: Sequence[dict[str, str]]) -> str:
    """A long 1 % below / 3 % above the summary's last close; hold while holding."""
    try:
        summary = json.loads(messages[-1]["content"])
    except ValueError:
        return hold_reply(messages)
    if not isinstance(summary, dict) or summary.get("holding") or "symbol" not in summary:
        return hold_reply(messages)
    close = Decimal(str(summary.get("last_close", "1")))
    return json.dumps(
        {
            "action": "enter",
            "symbol": summary["symbol"],
            "side": "buy",
            "stop_loss": str((close * Decimal("0.99")).normalize()),
            "take_profit": str((close * Decimal("1.03")).normalize()),
            "confidence": 0.7,
            "rationale": "stand-in: trend up",
        }
    )


class LlmStandIn:
    def __init__(
        self,
        *,
        default: str = "valid",
        script: Iterable[str] = (),
        reply: Reply = enter_reply,
        latency_s: float = 0.0,
        retry_after: str = "1",
    ) -> None:
        self.default = default
        self.script: deque[str] = deque(script)
        self.reply = reply
        self.latency_s = latency_s
        self.retry_after = retry_after
        self.calls = 0
        self.by_behaviour: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LlmStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.calls += 1
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        behaviour = self.script.popleft() if self.script else self.default
        self.by_behaviour[behaviour] += 1
        if behaviour == "slow":
            await self._release.wait()
            return web.Response(status=503)
        if behaviour == "429":
            return web.json_response(
                {"error": {"message": "rate limited"}},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if behaviour == "500":
            return web.json_response({"error": {"message": "boom"}}, status=500)
        messages = body["messages"]
        content = "Sure! I think you should buy." if behaviour == "invalid_json" else None
        if content is None:
            content = self.reply(messages)
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        prompt_tokens = sum(len(m["content"]) for m in messages) // 4
        return web.json_response(
            {
                "id": f"chatcmpl-{self.calls}",
                "object": "chat.completion",
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(content) // 4,
                    "total_tokens": prompt_tokens + len(content) // 4,
                },
            }
        )
