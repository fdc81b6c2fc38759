"""Which clock a deployment's figures are on, derived from its settings.

A simulated feed (synthetic or replay) puts orders on the candles' time; an exchange feed puts
them on the wall's. Everything an operator or investor reads follows the orders; liveness
(heartbeats, staleness, HTTP) stays on the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from rampart.domain.candles import Candle, timeframe_ms
from rampart.runtime.settings import OpsConfig

AS_FAST_AS_POSSIBLE = 1_000_000.0
"""The speed assumed for a feed played without pacing (replay speed): a generous bound."""
MIN_PACED_STEP_S = 0.001
"""Below this a feed is played as fast as possible (no schedule)."""


class Feed(Protocol):
    """What this module reads of the ``feed`` section (``market.settings.FeedConfig``; the
    runtime imports no adapter, docs/authors/architecture.md)."""

    @property
    def simulated(self) -> bool: ...

    @property
    def timeframe(self) -> str: ...

    @property
    def speed(self) -> float: ...


class Deployment(Protocol):
    """The settings this module reads: the feed and the ops sections (``Settings`` has both)."""

    @property
    def feed(self) -> Feed: ...

    @property
    def ops(self) -> OpsConfig: ...


def feed_is_simulated(settings: Deployment) -> bool:
    # An exchange's candles and a DEX's quotes both come in wall time.
    return settings.feed.simulated


def business_speed(settings: Deployment) -> float:
    """Business seconds per wall second: the feed's speed when simulated, else 1."""
    if not feed_is_simulated(settings):
        return 1.0
    feed = settings.feed
    step_s = timeframe_ms(feed.timeframe) / 1000 / feed.speed
    return feed.speed if step_s >= MIN_PACED_STEP_S else AS_FAST_AS_POSSIBLE


def uptime_grace_ms(settings: Deployment) -> int:
    """How long, in business time, a service counts as up after its last recorded heartbeat.

    The bound health and the alerts use to call a worker down (``worker_stale_s``, at least
    one heartbeat interval), so uptime in gates, GO/NO-GO, reports and /rollout says down
    exactly when health would have: a beat a loaded machine delays by a second is not an
    outage (at a simulated feed's 60,000× a one-interval grace turned a second's delay into
    16 hours of "downtime" and a healthy demo's uptime gate failed)."""
    bound_s = max(settings.ops.heartbeat_every_s, settings.ops.worker_stale_s)
    return int(bound_s * 1000 * business_speed(settings))


def business_start(
    settings: Deployment, resumed_at: int | None, stream: Callable[[], Iterable[Candle]]
) -> int | None:
    """Where a simulated feed's business time starts: the checkpoint's time when resuming, or
    the feed's first candle; never 0, or every job would see decades pass on the first candle
    and report an empty 1970. None on an exchange feed (the wall clock)."""
    if not feed_is_simulated(settings):
        return None
    if resumed_at is not None:
        return resumed_at
    first = next(iter(stream()), None)
    return first.ts if first is not None else None
