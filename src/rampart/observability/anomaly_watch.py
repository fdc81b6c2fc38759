"""Anomalies as metrics: the bus subscriber that runs the detector and the series the alert
rules ``AnomalyDetected`` (P2, per account) and ``AnomalyWidespread`` (P1, service-wide) read.

- ``rampart_anomalies_total{kind}``: anomalies found, over all accounts (no account label,
  as the other aggregates);
- ``rampart_anomaly_active{account, kind, figures}``: 1 while an anomaly is held (its
  ``hold_ms`` on the orders' clock), its figures in words in ``figures`` so that the incident
  says them; a newer anomaly of the same account and kind takes its place;
- ``rampart_anomaly_accounts{kind}``: accounts with an anomaly of the kind held now.

Holding on the orders' clock (the events' ``ts``), not on the evaluation's: a 300x replay's
hour of anomaly lasts twelve seconds of the alert engine's time, enough for its evaluations,
and a live hour is an hour.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from rampart.domain.events import Event
from rampart.risk.anomalies import Anomaly, AnomalyDetector, AnomalyKind
from rampart.trading.bus import EventBus, Topic

log = structlog.get_logger("rampart.anomalies")

ACTIVE = "rampart_anomaly_active"
ACCOUNTS = "rampart_anomaly_accounts"
TOTAL = "rampart_anomalies_total"

TOPICS = (Topic.DECISIONS, Topic.ORDERS, Topic.POSITIONS, Topic.ACCOUNTS, Topic.INTEGRITY)
"""Every topic but the market's: the detector needs no candle event (the engine publishes
none), it reads the engine's last candle when a fill comes."""


class AnomalyMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.total = Counter(TOTAL, "Anomalies found, by kind.", ["kind"], registry=r)
        self.active = Gauge(
            ACTIVE,
            "1 while an account's anomaly is held (hold_ms on the orders' clock); figures "
            "says what was measured against which limit.",
            ["account", "kind", "figures"],
            registry=r,
        )
        self.accounts = Gauge(
            ACCOUNTS, "Accounts with an anomaly of the kind held now.", ["kind"], registry=r
        )
        for kind in AnomalyKind:
            # At zero from the start: windowed increases and the widespread rule see them.
            self.total.labels(kind=kind.value)
            self.accounts.labels(kind=kind.value).set(0)


class AnomalyWatch:
    """Bus subscriber (every topic it needs: orders, decisions, positions, accounts,
    integrity): each event to the detector, each anomaly to the metrics and the log."""

    def __init__(
        self,
        detector: AnomalyDetector,
        metrics: AnomalyMetrics,
        on_anomaly: Callable[[Anomaly], None] | None = None,
    ) -> None:
        self.detector = detector
        self.metrics = metrics
        self.on_anomaly = on_anomaly
        self.held: dict[tuple[str, AnomalyKind], tuple[Anomaly, int]] = {}
        """(account, kind) -> the anomaly held and when (orders' clock) it lapses."""
        self.count = 0
        """Anomalies found since the start."""

    def on_event(self, event: Event) -> None:
        self.expire(event.ts)
        for anomaly in self.detector.on_event(event):
            self._hold(anomaly)

    def _hold(self, anomaly: Anomaly) -> None:
        key = (anomaly.account_id, anomaly.kind)
        before = self.held.get(key)
        if before is not None:
            self._drop(before[0])
        self.held[key] = (anomaly, anomaly.ts + self.detector.limits.hold_ms)
        self.count += 1
        kind = anomaly.kind.value
        self.metrics.total.labels(kind=kind).inc()
        self.metrics.active.labels(
            account=anomaly.account_id, kind=kind, figures=anomaly.figures
        ).set(1)
        self._count(anomaly.kind)
        log.warning(
            "anomaly",
            account_id=anomaly.account_id,
            kind=kind,
            value=anomaly.value,
            limit=anomaly.limit,
            figures=anomaly.figures,
        )
        if self.on_anomaly is not None:
            self.on_anomaly(anomaly)

    def expire(self, now_ms: int) -> None:
        """Let go of the anomalies whose hold has lapsed at ``now_ms`` (orders' clock)."""
        lapsed = [key for key, (_, until) in self.held.items() if until <= now_ms]
        for key in lapsed:
            anomaly, _ = self.held.pop(key)
            self._drop(anomaly)
            self._count(anomaly.kind)

    def _drop(self, anomaly: Anomaly) -> None:
        labels = (anomaly.account_id, anomaly.kind.value, anomaly.figures)
        with contextlib.suppress(KeyError):  # already gone (the same figures held twice)
            self.metrics.active.remove(*labels)

    def _count(self, kind: AnomalyKind) -> None:
        n = sum(1 for account, k in self.held if k is kind)
        self.metrics.accounts.labels(kind=kind.value).set(n)


def follow(watch: AnomalyWatch, bus: EventBus) -> None:
    """Subscribe ``watch`` to ``bus`` (a session's, or each of a worker's shards')."""
    bus.subscribe(watch.on_event, topics=TOPICS, name="anomalies")


__all__ = ["ACCOUNTS", "ACTIVE", "TOPICS", "TOTAL", "AnomalyMetrics", "AnomalyWatch", "follow"]
