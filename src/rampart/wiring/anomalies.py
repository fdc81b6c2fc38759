"""The anomaly watch wired to a trading session: the detector reads the engine's last candle
and mark for each fill and the account's profile for its order rate, and takes the bus's
events (the service and the worker; a replay's bench, ``bench/anomalies.py``, too)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from prometheus_client import CollectorRegistry

from rampart.config import Settings
from rampart.observability.anomaly_watch import AnomalyMetrics, AnomalyWatch, follow
from rampart.risk.anomalies import AnomalyDetector, Band
from rampart.risk.profiles import DEFAULT_PROFILES
from rampart.trading.engine import Engine
from rampart.wiring.session import TradingSession

DEFAULT_RATE = DEFAULT_PROFILES["moderate"].max_orders_per_minute
"""For an account the engine does not hold (an event raced its removal)."""


def slippage_cap(settings: Settings) -> float:
    """The largest share a paper fill can slip (0 elsewhere): a tolerance below it would
    call the paper venue's own slippage an anomaly."""
    venue = settings.venue
    if venue.kind != "paper":
        return 0.0
    return float((venue.slippage_bps + venue.impact_bps) / Decimal(10_000))


def engine_band(engine: Engine, symbol: str, at: int | None = None) -> Band | None:
    """Where ``symbol`` traded at ``at`` (a fill's time; None: now): the last candle widened to
    the latest mark for a fill made during or after it; for an older fill, the candle of its
    own time in the engine's history, at its close; None when no candle of that time is held.

    A takeover or a start books the fills made while no one held the accounts:
    judged against the market minutes or hours later, every one of them was off the mark (a
    fleet's first minute had ~40 AnomalyDetected and an AnomalyWidespread)."""
    history = engine.history.get(symbol)
    mark = engine.marks.get(symbol)
    if not history or mark is None:
        return None
    last = history[-1]
    if at is None or at >= last.ts:
        return Band(Decimal(repr(last.low)), Decimal(repr(last.high)), mark)
    for candle in reversed(history):
        if candle.ts <= at:
            if at >= candle.close_ts:
                return None  # a gap in the candles held: nothing to judge it against
            close = Decimal(repr(candle.close))
            return Band(Decimal(repr(candle.low)), Decimal(repr(candle.high)), close)
    return None  # older than every candle held


def engine_rate(engine: Engine, account_id: str) -> int:
    acct = engine.accounts.get(account_id)
    if acct is None:
        return DEFAULT_RATE
    return acct.profile.max_orders_per_minute


def anomaly_watch(
    settings: Settings, engines: Callable[[], Iterable[Engine]], registry: CollectorRegistry
) -> AnomalyWatch | None:
    """One anomaly watch over the engines ``engines()`` gives (a worker's shards: one watch,
    so an anomaly on accounts of several shards counts its accounts together), its series on
    ``registry``; None when ``alerts.anomalies.enabled`` is off. Subscribe it to each bus with
    :func:`~rampart.observability.anomaly_watch.follow`."""
    levels = settings.alerts.anomalies
    if not levels.enabled:
        return None

    def band(symbol: str, at: int) -> Band | None:
        return next((b for e in engines() if (b := engine_band(e, symbol, at)) is not None), None)

    def rate(account_id: str) -> int:
        holder = next((e for e in engines() if account_id in e.accounts), None)
        return engine_rate(holder, account_id) if holder is not None else DEFAULT_RATE

    detector = AnomalyDetector(levels.limits(slippage_cap(settings)), band, rate)
    return AnomalyWatch(detector, AnomalyMetrics(registry))


def watch_anomalies(
    settings: Settings, session: TradingSession, registry: CollectorRegistry
) -> AnomalyWatch | None:
    """An anomaly watch subscribed to ``session``'s bus (``rampart run``)."""
    watch = anomaly_watch(settings, lambda: (session.engine,), registry)
    if watch is not None:
        follow(watch, session.bus)
    return watch


__all__ = [
    "anomaly_watch",
    "engine_band",
    "engine_rate",
    "slippage_cap",
    "watch_anomalies",
]
