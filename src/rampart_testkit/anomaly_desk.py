"""Anomaly false-alarm measurement: the detector and its alert rules over ordinary
trading, counted by severity.

- :class:`Desk`: the real engine, paper venue, metrics, anomaly watch and in-service alert
  engine (the anomaly rules) on one SimClock; a simulated day of the synthetic feed is the
  24 h demo. The alert engine evaluates once a simulated minute, as the service's does.
- :func:`replay_anomalies`: ``rampart replay``'s own code over one candle file with the watch
  subscribed to its session's bus. A replay is one account, so its anomalies are P2
  (``AnomalyDetected``); the P1 (``AnomalyWidespread``) needs several accounts and is counted
  from the watch's accounts per kind.

``bench/anomalies.py`` prints the figures; tests run short pieces of both.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from prometheus_client import CollectorRegistry

from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.config import Settings
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.instruments import DEFAULT_INSTRUMENTS, Instrument
from rampart.market.synthetic import SyntheticFeed
from rampart.observability.alerts.engine import AlertEngine
from rampart.observability.alerts.rules_anomaly import WIDESPREAD_ACCOUNTS, anomaly_rules
from rampart.observability.anomaly_watch import TOPICS, AnomalyMetrics, AnomalyWatch
from rampart.observability.metrics import Metrics
from rampart.observability.notify import CallbackNotifier, Notice
from rampart.risk.anomalies import Anomaly, AnomalyDetector, AnomalyKind, AnomalyLimits
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue
from rampart.wiring import replay as replay_module
from rampart.wiring.anomalies import engine_band, engine_rate, watch_anomalies
from rampart.wiring.session import TradingSession

MINUTE = 60_000
SYMBOLS = ("BTC/USDT", "ETH/USDT")
STRATEGIES = (("trend", "moderate"), ("mean_reversion", "conservative"), ("breakout", "aggressive"))


class Desk:
    """Accounts on the paper venue, the anomaly watch on their bus, the anomaly rules on it."""

    def __init__(self, limits: AnomalyLimits | None = None, equity_snapshot_ms: int = 3_600_000):
        self.clock = SimClock(0)
        self.bus = EventBus()
        self.metrics = Metrics(CollectorRegistry())  # no process collectors: fast evaluations
        self.bus.subscribe(self.metrics.on_event)
        instruments: dict[str, Instrument] = {s: DEFAULT_INSTRUMENTS[s] for s in SYMBOLS}
        self.paper = PaperVenue(instruments, clock=self.clock)
        self.engine = Engine(
            venue=self.paper,
            clock=self.clock,
            bus=self.bus,
            make_agent=make_agent,
            profile_for=get_profile,
            taker_fee=Decimal("0.001"),
            equity_snapshot_ms=equity_snapshot_ms,
        )
        engine = self.engine
        detector = AnomalyDetector(
            limits or AnomalyLimits(),
            lambda symbol, at: engine_band(engine, symbol, at),
            lambda account_id: engine_rate(engine, account_id),
        )
        self.anomalies: list[Anomaly] = []
        self.watch = AnomalyWatch(
            detector, AnomalyMetrics(self.metrics.registry), self.anomalies.append
        )
        self.bus.subscribe(self.watch.on_event, topics=TOPICS)
        self.notices: list[Notice] = []

        async def record(notice: Notice) -> None:
            self.notices.append(notice)

        self.alerts = AlertEngine(
            anomaly_rules(), self.metrics, None, self.clock, CallbackNotifier(record)
        )

    async def add(self, account: str, agent: str, profile: str, capital: str = "10000") -> None:
        spec = AccountSpec(account, agent, profile, Decimal(capital), SYMBOLS)
        await self.engine.add_account(spec)

    async def run(self, candles: Iterable[Candle]) -> None:
        for candle in candles:
            self.clock.set(max(self.clock.now_ms(), candle.close_ts))
            await self.engine.on_candle(candle)
            if candle.symbol == SYMBOLS[-1]:  # once a minute, after every symbol's candle
                self.watch.expire(self.clock.now_ms())
                await self.alerts.evaluate(self.clock.now_ms())

    def incidents(self) -> Counter[str]:
        """Incidents opened, by severity."""
        return Counter(n.severity for n in self.notices if n.kind == "firing")


async def demo_day(
    accounts_per_strategy: int = 4,
    minutes: int = 1440,
    seed: int = 7,
    equity_snapshot_ms: int = 3_600_000,
    limits: AnomalyLimits | None = None,
) -> Desk:
    """The 24 h demo: accounts on the three rule strategies, a simulated day of the seeded
    synthetic feed (volatility clustering, fat tails) on two symbols."""
    desk = Desk(limits, equity_snapshot_ms)
    for i in range(accounts_per_strategy):
        for agent, profile in STRATEGIES:
            await desk.add(f"{agent}-{i}", agent, profile)
    feed = SyntheticFeed(list(SYMBOLS), seed=seed)
    await desk.run(itertools.islice(feed.iter_candles(), minutes * len(SYMBOLS)))
    return desk


def capital_for(path: Path) -> Decimal:
    """What test_replay gives each file's account: a sensible amount of its quote asset."""
    quote = path.name.split("-")[0].split("_")[1]
    return {"BTC": Decimal("1"), "ETH": Decimal("20")}.get(quote, Decimal("10000"))


@dataclass
class Replayed:
    candles: int
    anomalies: list[Anomaly]
    widest: int
    """The most accounts that held an anomaly of one kind at once."""
    judged: Counter[AnomalyKind]
    """Observations the detector gave a verdict on, by kind."""


async def replay_anomalies(
    path: Path, agent: str, settings: Settings, out_dir: Path, profile: str = "aggressive"
) -> Replayed:
    """One replay of ``path`` with the anomaly watch on."""
    found: list[Anomaly] = []
    widest = 0
    watches: list[AnomalyWatch] = []

    class Watched(TradingSession):
        async def open(self) -> Any:
            cursor = await super().open()
            watch = watch_anomalies(settings, self, CollectorRegistry())
            if watch is not None:
                watch.on_anomaly = on_anomaly
                watches.append(watch)
            return cursor

    def on_anomaly(anomaly: Anomaly) -> None:
        nonlocal widest
        for watch in watches:
            kinds = Counter(kind for _, kind in watch.held)
            widest = max(widest, *kinds.values())
        found.append(anomaly)

    with mock.patch.object(replay_module, "TradingSession", Watched):
        result = await replay_module.run_replay(
            path, agent, profile, capital_for(path), settings, out_dir=out_dir, chart=False
        )
    judged: Counter[AnomalyKind] = Counter()
    for watch in watches:
        judged.update(watch.detector.judged)
    return Replayed(result.candles, found, widest, judged)


def severities(run: Replayed) -> dict[str, int]:
    """A replay's incidents by severity: every anomaly is an AnomalyDetected (P2); the P1 is
    the widespread rule's, reached when ``widest`` accounts held one kind at once."""
    return {"P0": 0, "P1": int(run.widest >= WIDESPREAD_ACCOUNTS), "P2": len(run.anomalies)}


__all__ = ["Desk", "Replayed", "capital_for", "demo_day", "replay_anomalies", "severities"]
