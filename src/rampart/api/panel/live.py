"""Live figures: a server-sent event stream of the Overview's figures.

An event goes out when the engine has published something since the last one (a candle, a
fill, an order) and at least every ``HEARTBEAT_S`` regardless (health samples, alerts and
incidents change without engine events). Whether anything changed is a look at a counter
every ``POLL_S`` real seconds: these are screen updates for a person, so real time is right
here, and the cost is nothing while the service is quiet. A stream ends after
``STREAM_MAX_S`` or when its session ends; the browser reconnects by itself
(``retry``) and the page shows "reconnecting" meanwhile.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from rampart.api.panel.sessions import PanelSession
from rampart.api.panel.web import HEADERS, Who, ctx_of, store_of
from rampart.api.routes_overview import read_overview

router = APIRouter(include_in_schema=False)

POLL_S = 0.25
HEARTBEAT_S = 5.0
STREAM_MAX_S = 300.0
RETRY_MS = 2000


def _version(ctx: Any) -> tuple[int, bool]:
    engine = ctx.operator.engine
    return ctx.session.bus.published, bool(engine.controls.global_kill)


async def figures(ctx: Any, who: PanelSession) -> dict[str, str]:
    """What one event carries: the Overview's figures (an admin), the kill switch (a user)."""
    if who.admin:
        return (await read_overview(ctx)).figures
    kill = ctx.operator.engine.controls.global_kill
    return {"kill-switch": "engaged" if kill else "released"}


def event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def stream(request: Request, who: PanelSession) -> AsyncIterator[str]:
    ctx = ctx_of(request)
    loop = asyncio.get_running_loop()
    started = loop.time()
    yield f"retry: {RETRY_MS}\n\n"
    last: tuple[int, bool] | None = None
    sent_at = 0.0
    while loop.time() - started < STREAM_MAX_S:
        if store_of(request).get(who.id) is None or await request.is_disconnected():
            return
        version = _version(ctx)
        if version != last or loop.time() - sent_at >= HEARTBEAT_S:
            last, sent_at = version, loop.time()
            yield event(
                "figures", {"figures": await figures(ctx, who), "as_of": ctx.business.now_ms()}
            )
        await asyncio.sleep(POLL_S)


@router.get("/panel/live")
async def live(request: Request, who: Who) -> StreamingResponse:
    headers = {**HEADERS, "x-accel-buffering": "no"}
    return StreamingResponse(stream(request, who), media_type="text/event-stream", headers=headers)
