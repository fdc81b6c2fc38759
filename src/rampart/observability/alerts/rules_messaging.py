"""Messaging's alerts, kept apart from the runbook's levels in ``rules``.

MessagingDown (P0) fires when a process that carries candles or commands (a worker, a server,
or the feed when a Prometheus scrapes it) has not been connected to NATS for
:data:`DOWN_FOR_S`: workers then trade no new candle and hear no command (a kill switch sent
meanwhile waits for the link). CandlesStopped (P1) fires when a worker's next candle is more
than :data:`OVERDUE_S` later than one candle's interval: the feed is down with no standby,
cannot reach NATS, or its source stopped. Both fire within about 15 s with the engine's
default 5 s evaluation.
"""

from __future__ import annotations

from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import GaugeSignal
from rampart.observability.messaging_metrics import CANDLES_OVERDUE, NATS_CONNECTED

DOWN_FOR_S = 5
OVERDUE_S = 10


def messaging_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "MessagingDown",
            "P0",
            "A {link} has not been connected to NATS for {lasting}: candles or commands "
            "cannot flow (no new candle is traded; a kill switch waits for the link). Check "
            "nats-server and the network to it.",
            GaugeSignal(NATS_CONNECTED, by=("link",), agg="min"),
            "<",
            1,
            DOWN_FOR_S,
        ),
        AlertRule(
            "CandlesStopped",
            "P1",
            "A worker's next candle is more than {threshold} overdue: the feed is down with no "
            "standby, cannot reach NATS, or its exchange stopped answering; the worker's "
            "accounts trade nothing new meanwhile.",
            GaugeSignal(CANDLES_OVERDUE, agg="max"),
            ">",
            OVERDUE_S,
            0,
            unit="s",
        ),
    ]


__all__ = ["DOWN_FOR_S", "OVERDUE_S", "messaging_rules"]
