"""The anomaly watch wired to a trading session: the detector reads the engine's last candle
and mark for each fill and the account's profile for its order rate, and takes the bus's
events (the service and the worker; a replay's bench, ``bench/anomalies.py``, too)."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import CollectorRegistry

from rampart.config import Settings
from rampart.observability.anomaly_watch import AnomalyMetrics, AnomalyWatch
from rampart.risk.anomalies import AnomalyDetector, Band
from rampart.risk.profiles import DEFAULT_PROFILES
from rampart.trading.bus import Topic
from rampart.trading.engine import Engine
from rampart.wiring.session import TradingSession

TOPICS = (Topic.DECISIONS, Topic.ORDERS, Topic.POSITIONS, Topic.ACCOUNTS, Topic.INTEGRITY)
"""Every topic but the market's: the detector needs no candle event (the engine publishes
none), it reads the engine's last candle when a fill comes."""
DEFAULT_RATE = DEFAULT_PROFILES["moderate"].max_orders_per_minute
"""For an account the engine does not hold (an event raced its removal)."""


def slippage_cap(settings: Settings) -> float:
    """The largest share a paper fill can slip (0 elsewhere): a tolerance below it would
    call the paper venue's own slippage an anomaly."""
    venue = settings.venue
    if venue.kind != "paper":
        return 0.0
    return float((venue.slippage_bps + venue.impact_bps) / Decimal(10_000))


def engine_band(engine: Engine, symbol: str) -> Band | None:
    history = engine.history.get(symbol)
    mark = engine.marks.get(symbol)
    if not history or mark is None:
        return None
    last = history[-1]
    return Band(Decimal(repr(last.low)), Decimal(repr(last.high)), mark)


def engine_rate(engine: Engine, account_id: str) -> int:
    acct = engine.accounts.get(account_id)
    if acct is None:
        return DEFAULT_RATE
    return acct.profile.max_orders_per_minute


def watch_anomalies(
    settings: Settings, session: TradingSession, registry: CollectorRegistry
) -> AnomalyWatch | None:
    """Subscribe an anomaly watch to ``session``'s bus, its series on ``registry``; None when
    ``alerts.anomalies.enabled`` is off."""
    levels = settings.alerts.anomalies
    if not levels.enabled:
        return None
    engine = session.engine
    detector = AnomalyDetector(
        levels.limits(slippage_cap(settings)),
        lambda symbol: engine_band(engine, symbol),
        lambda account_id: engine_rate(engine, account_id),
    )
    watch = AnomalyWatch(detector, AnomalyMetrics(registry))
    session.bus.subscribe(watch.on_event, topics=TOPICS, name="anomalies")
    return watch


__all__ = ["engine_band", "engine_rate", "slippage_cap", "watch_anomalies"]
