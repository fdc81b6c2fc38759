"""A service's published answers served to a client through httpx's mock transport: each
request is kept (to compare with the documented request) and answered from a fixture."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Answer = tuple[int, Any]
"""(HTTP status, JSON body or None)."""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class ServiceDouble:
    """Answers ``(method, path suffix)`` from a table; anything else is a 404."""

    answers: dict[tuple[str, str], Answer | Callable[[Seen], Answer]]
    seen: list[Seen] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        raw = request.content
        seen = Seen(
            request.method,
            request.url.path,
            dict(request.url.params),
            {k.lower(): v for k, v in request.headers.items()},
            json.loads(raw) if raw else None,
        )
        self.seen.append(seen)
        for (method, suffix), answer in self.answers.items():
            if method == request.method and request.url.path.endswith(suffix):
                status, body = answer(seen) if callable(answer) else answer
                if body is None:
                    return httpx.Response(status)
                return httpx.Response(status, json=body)
        return httpx.Response(404)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


__all__ = ["Answer", "Seen", "ServiceDouble"]
