"""Each HTTP request a span, continuing the trace its ``traceparent`` header carries (issue
58): a call from a tool, a proxy or another Rampart process is seen in the same trace. While
tracing is off the request passes straight through."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rampart.observability import tracing


class TraceRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.enabled():
            await self.app(scope, receive, send)
            return
        carried = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers") or []
            if name.lower() in (b"traceparent", b"tracestate")
        }
        method = str(scope.get("method", ""))
        path = str(scope.get("path", ""))  # never the query: it may carry a token
        attrs: dict[str, Any] = {"http.request.method": method, "url.path": path}
        parent = tracing.extract(carried)
        with tracing.span(f"{method} {path}", attrs, kind="server", parent=parent) as span:

            async def status_noted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", int(message["status"]))
                await send(message)

            await self.app(scope, receive, status_noted)


__all__ = ["TraceRequests"]
