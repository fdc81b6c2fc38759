"""Which clock a deployment's figures are on, derived from its settings.

A simulated feed (synthetic or replay) puts orders on the candles' time; an exchange feed puts
them on the wall's. Everything an operator or investor reads follows the orders; liveness
(heartbeats, staleness, HTTP) stays on the wall clock.
"""

from __future__ import annotations

from rampart.config import Settings
from rampart.domain.candles import timeframe_ms

AS_FAST_AS_POSSIBLE = 1_000_000.0
"""The speed assumed for a feed played without pacing (replay speed): a generous bound."""
MIN_PACED_STEP_S = 0.001
"""Below this a feed is played as fast as possible (no schedule)."""


def feed_is_simulated(settings: Settings) -> bool:
    return settings.feed.kind != "ccxt"


def business_speed(settings: Settings) -> float:
    """Business seconds per wall second: the feed's speed when simulated, else 1."""
    if not feed_is_simulated(settings):
        return 1.0
    feed = settings.feed
    step_s = timeframe_ms(feed.timeframe) / 1000 / feed.speed
    return feed.speed if step_s >= MIN_PACED_STEP_S else AS_FAST_AS_POSSIBLE


def heartbeat_ms(settings: Settings) -> int:
    """Business time between two heartbeats: the uptime a missed beat may hide."""
    return int(settings.ops.heartbeat_every_s * 1000 * business_speed(settings))
