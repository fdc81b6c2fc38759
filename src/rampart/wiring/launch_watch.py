"""What the launch plans ask the running service to watch, wired in one place: a
``trace=`` log line per step of every entry, the exchange's rate-limit headers, and the alert
engine's refreshers for MemoryGrowth, UptimeLow and the pool gauges; the first refused write
wakes the alert engine so DatabaseDown pages 10 s after it."""

from __future__ import annotations

from functools import partial

from rampart.clock import Clock
from rampart.config import Settings
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.launch_sampler import (
    UptimeSampler,
    sample_memory,
    sample_pool,
    store_state_hook,
)
from rampart.observability.metrics import Metrics
from rampart.observability.rate_limit_metrics import watch_rate_limits
from rampart.observability.trace_log import TraceLog
from rampart.runtime.business_time import uptime_grace_ms
from rampart.wiring.session import TradingSession


def watch_launch(
    settings: Settings,
    session: TradingSession,
    metrics: Metrics,
    alerts: AlertEngine | None,
    business: Clock,
) -> None:
    session.bus.subscribe(TraceLog())  # trace=<entry client id> on each step's log line
    watch_rate_limits(session.venue, metrics.launch.rate_limits)  # headroom from headers
    if alerts is None:
        return
    alerts.add_refresher(partial(sample_memory, metrics))
    alerts.add_refresher(partial(sample_pool, session.db, metrics))
    grace = uptime_grace_ms(settings)
    alerts.add_refresher(UptimeSampler(session.db, metrics, business, grace).sample)
    session.on_store = store_state_hook(metrics, alerts)


__all__ = ["watch_launch"]
