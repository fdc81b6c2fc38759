"""The event bus's own health: events a subscriber raised on (``rampart_event_subscriber_
failures_total{subscriber}``). The bus isolates a failing subscriber from the engine
(:class:`rampart.trading.bus.EventBus`); this counter is how an operator hears of it, through
the ``SubscriberFailing`` alert. Subscribers are a handful of named parts (the store writer,
the metrics, the live view, notices), so the label stays small."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from rampart.domain.events import Event


class BusMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.subscriber_failures = Counter(
            "rampart_event_subscriber_failures_total",
            "Events a subscriber of the event bus raised on (the engine went on; the "
            "subscriber missed the event).",
            ["subscriber"],
            registry=r,
        )

    def subscriber_failed(self, name: str, event: Event, exc: Exception) -> None:
        """The bus's ``on_failure`` hook."""
        del event, exc
        self.subscriber_failures.labels(subscriber=name).inc()
