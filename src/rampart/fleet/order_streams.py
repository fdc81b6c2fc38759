"""Starting and stopping a venue's order streams, and what readiness says about the streams.

A ccxt venue learns its accounts' orders and fills by websocket where the exchange offers it
(:mod:`rampart.venues.ccxt_streaming`); ``rampart run`` starts the streams once its session is
open, a worker when it has taken a shard, and they stop with the venue, or when the shard is
handed back or lost. Readiness reports both websockets, the candle feed's and the order
streams', as checks that are never required: a stream fallen back to REST polling leaves the
service ready (it trades as before the streams, paying more request weight) and says so among
the degraded checks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import structlog

from rampart.observability.stream_metrics import OrderStreamMetrics
from rampart.runtime.health import Check, Probe

log = structlog.get_logger("rampart.fleet.order_streams")

FEED_STATES = {
    "connected": (True, "candles arrive by websocket"),
    "connecting": (True, "the websocket is not connected yet: candles are polled meanwhile"),
    "polling": (False, "candles are polled over REST: the websocket failed or is not offered"),
    "off": (True, "candles are polled over REST (feed.use_websocket is off)"),
    "not_used": (True, "no exchange feed"),
}


async def start_order_streams(
    venue: Any,
    metrics: OrderStreamMetrics,
    key: str = "",
    allowed: Callable[[], bool] | None = None,
) -> bool:
    """Open ``venue``'s order streams when it has them (True); their states go to
    ``metrics`` under ``key``; ``allowed()`` false stops them applying anything."""
    start = getattr(venue, "start_order_stream", None)
    if start is None:
        return False
    try:
        started = bool(await start(on_state=partial(metrics.state, key), allowed=allowed))
    except Exception as exc:  # no stream is no outage: its orders are polled as before
        log.warning("order_streams_not_started", key=key or "service", error=type(exc).__name__)
        return False
    if started:
        log.info("order_streams_open", key=key or "service")
    return started


async def stop_order_streams(venue: Any, metrics: OrderStreamMetrics, key: str = "") -> None:
    stop = getattr(venue, "stop_order_stream", None)
    try:
        if stop is not None:
            await stop()
    finally:
        metrics.forget(key)


def order_stream_probe(metrics: OrderStreamMetrics, use_order_stream: bool) -> Probe:
    async def probe() -> Check:
        counts = metrics.counts()
        streaming, polling = counts["streaming"], counts["polling"]
        if not use_order_stream:
            detail = "orders are polled (venue.use_order_stream is off)"
            return Check("order streams", True, detail, False)
        if not metrics.started:
            detail = "orders are polled: the exchange offers no stream, or none opened"
            return Check("order streams", True, detail, False)
        detail = f"{streaming} accounts streaming, {polling} polling over REST"
        if polling:
            detail += " (the stream failed or is reopening; orders are still followed)"
        return Check("order streams", polling == 0, detail, False)

    return probe


def feed_websocket_probe(state: Callable[[], str]) -> Probe:
    async def probe() -> Check:
        now = state()
        ok, detail = FEED_STATES.get(now, (True, now))
        return Check("feed websocket", ok, detail, False)

    return probe


__all__ = [
    "feed_websocket_probe",
    "order_stream_probe",
    "start_order_streams",
    "stop_order_streams",
]
