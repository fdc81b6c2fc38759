"""Live figures: a server-sent event stream of the Overview's figures.

The first event carries every figure. Then the figures held in memory (kill switch, equity,
PnL, event lag, alerts) go out when the engine moved since the last event (a candle, which
moves the marks even when nothing trades, a fill, an order, the kill switch), once that
candle is done; the ones read from the database (stage, order success, open incidents) at
most every ``STORE_EVERY_S`` while it moves, so a slow query never holds up the equity; and
everything at least every ``HEARTBEAT_S`` (alerts and incidents change without engine
events). Whether anything changed is a look at a few counters every ``POLL_S`` real
seconds: these are screen updates for a person, so real time is right here, and the cost is
nothing while the service is quiet. A stream ends after ``STREAM_MAX_S`` or when its
session ends; the browser reconnects by itself (``retry``) and the page shows
"reconnecting" meanwhile.
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
from rampart.api.routes_overview import engine_reading, store_figures

router = APIRouter(include_in_schema=False)

POLL_S = 0.25
HEARTBEAT_S = 5.0
STORE_EVERY_S = 2.0
STREAM_MAX_S = 300.0
RETRY_MS = 2000


def _version(ctx: Any) -> tuple[int, int, bool]:
    """Changes with every candle (marks move even when nothing trades), every engine event
    and the kill switch."""
    mark: tuple[int, int, bool] = ctx.operator.change_mark()
    return mark


async def _engine(ctx: Any, who: PanelSession) -> tuple[dict[str, str], dict[str, str]]:
    """The engine's figures and the money among them as the page shows it."""
    if who.reads_all:
        return await engine_reading(ctx)
    kill = ctx.operator.kill_switch().engaged
    return {"kill-switch": "engaged" if kill else "released"}, {}


async def _stored(ctx: Any, who: PanelSession) -> dict[str, str]:
    return await asyncio.to_thread(store_figures, ctx) if who.reads_all else {}


def event(
    name: str, figures: dict[str, str], as_of: int, shown: dict[str, str] | None = None
) -> str:
    """``shown``: the text a figure's element takes instead of its exact value (money)."""
    data = json.dumps(
        {"figures": figures, "shown": shown or {}, "as_of": as_of}, separators=(",", ":")
    )
    return f"event: {name}\ndata: {data}\n\n"


async def stream(request: Request, who: PanelSession) -> AsyncIterator[str]:
    """First every figure; then the engine's figures as soon as the engine moved (they are in
    memory: one candle's change reaches the page within ``POLL_S``) and the database's
    (stage, order success, incidents) when a read of them, started at most every
    ``STORE_EVERY_S`` while the engine moves and on each heartbeat, has finished."""
    ctx = ctx_of(request)
    loop = asyncio.get_running_loop()
    started = loop.time()
    yield f"retry: {RETRY_MS}\n\n"
    as_of = ctx.business.now_ms()
    stored = await _stored(ctx, who)
    figures, shown = await _engine(ctx, who)
    yield event("figures", {**stored, **figures}, as_of, shown)
    last: tuple[int, int, bool] = _version(ctx)
    sent_at = stored_at = loop.time()
    reading: asyncio.Task[dict[str, str]] | None = None
    reading_as_of = as_of
    try:
        while loop.time() - started < STREAM_MAX_S:
            await asyncio.sleep(POLL_S)
            if not store_of(request).known(who.id) or await request.is_disconnected():
                return
            if ctx.lock.locked():
                # A candle (or an operator command) is being processed: its figures are
                # read once it is done, so a page never shows half a candle.
                continue
            version, now = _version(ctx), loop.time()
            moved, beat = version != last, now - sent_at >= HEARTBEAT_S
            if moved or beat:
                last, sent_at = version, now
                figures, shown = await _engine(ctx, who)
                yield event("figures", figures, ctx.business.now_ms(), shown)
            if reading is not None and reading.done():
                yield event("figures", reading.result(), reading_as_of)
                reading = None
            # The database's figures are read beside the stream, never in its way: a slow
            # query must not hold up the engine's figures.
            due = beat or (moved and now - stored_at >= STORE_EVERY_S)
            if who.reads_all and reading is None and due:
                stored_at, reading_as_of = now, ctx.business.now_ms()
                reading = asyncio.create_task(_stored(ctx, who))
    finally:
        if reading is not None:
            reading.cancel()


@router.get("/panel/live")
async def live(request: Request, who: Who) -> StreamingResponse:
    headers = {**HEADERS, "x-accel-buffering": "no"}
    return StreamingResponse(stream(request, who), media_type="text/event-stream", headers=headers)
