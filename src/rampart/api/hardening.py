"""HTTP hardening: a request body limit, security headers, and CORS only when configured.

Pure ASGI middleware (not ``BaseHTTPMiddleware``) so the body limit counts bytes as they
arrive: a chunked upload without ``Content-Length`` is cut off at the limit instead of being
read into memory first.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rampart.api.settings import ApiConfig
from rampart.api.trace_requests import TraceRequests

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# /docs (Swagger UI) and /redoc load their scripts and styles from this origin (api/docs.py: no
# CDN, so they work offline) and run an inline bootstrap script; they then fetch /openapi.json
# from here. ReDoc styles with inline style attributes, and runs its search in a web worker
# it builds from a blob.
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
BASE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def _error(status: int, message: str, *, close: bool = True) -> tuple[Message, Message]:
    body = json.dumps({"error": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413 and a JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> tuple[Message, Message]:
        # No "Connection: close": closing a socket with the client's upload still arriving
        # makes the kernel reset it, and the client loses the 413 it was about to read. The
        # server discards the rest of the body instead; the connection guard's request
        # deadline (api.request_timeout_s) bounds how long that may go on.
        message = f"The request body is larger than {self.max_bytes} bytes."
        return _error(413, message, close=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                for message in _error(400, "The Content-Length header is not a byte count."):
                    await send(message)
                return
            if size > self.max_bytes:
                for message in self._too_large():
                    await send(message)
                return

        received = 0
        started = False
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer here rather than raise into the app: FastAPI turns any error while
                    # it reads a body into its own 400, which is how a chunked 1 MB body used
                    # to get 400 instead of the documented 413. The app then sees a client
                    # that went away, and whatever it answers is dropped.
                    refused = True
                    if not started:
                        for reply in self._too_large():
                            await send(reply)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except Exception:
            if not refused:
                raise
            # The app failed on the disconnect it was handed (Starlette's ClientDisconnect)
            # after the 413 went out: the expected end of this request, not a server error.


class SecurityHeaders:
    """Add the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = list(BASE_HEADERS)
        extra.append(
            (b"content-security-policy", (DOCS_CSP if path in DOCS_PATHS else API_CSP).encode())
        )
        if path.startswith("/api/"):
            # Account data must not linger in browser or proxy caches.
            extra.append((b"cache-control", b"no-store"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, settings: ApiConfig | Any | None) -> None:
    """Wrap ``app``: headers outermost (so 413s and CORS answers carry them too), then CORS
    when origins are configured, then the body limit."""
    api = settings if isinstance(settings, ApiConfig) else ApiConfig()
    app.add_middleware(BodyLimit, max_bytes=api.max_body_bytes)
    if api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(api.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TraceRequests)  # outermost: the span covers every answer
