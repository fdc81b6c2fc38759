"""In-process bus of typed domain events, on named topics, with its subscribers isolated.

Delivery is synchronous and in publish order. Each event belongs to one :class:`Topic`; a
subscriber takes every topic (the store writer, the metrics) or the ones it names.

A subscriber that raises is the subscriber's problem, never the engine's: the exception is
caught, counted per subscriber (:attr:`EventBus.failures`), logged (the first time, then
every :data:`LOG_EVERY`-th, so a subscriber failing on every event does not flood the log)
and handed to ``on_failure``, which the service points at its metrics (the
``SubscriberFailing`` alert reads them). The other subscribers still get the event and the
engine goes on trading.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

import structlog

from rampart.domain.events import (
    AccountStateChanged,
    AgentFaulted,
    BreakerTripped,
    CandleClosed,
    CapitalChanged,
    EquitySnapshot,
    Event,
    FillBooked,
    IntentProposed,
    IntentRejected,
    InvariantViolated,
    KillSwitchChanged,
    OrderUpdated,
    PositionChanged,
    ProtectionChanged,
    ReconciliationRepaired,
    ReportUnexplained,
    TradeClosed,
)

log = structlog.get_logger("rampart.bus")

Subscriber = Callable[[Event], None]
FailureHook = Callable[[str, Event, Exception], None]
"""(subscriber's name, the event, what it raised)."""

LOG_EVERY = 1000
"""A subscriber's failures logged: the first, then one in this many (all are counted)."""


class Topic(Enum):
    """What an event is about; a subscriber may take only some."""

    MARKET = "market"
    DECISIONS = "decisions"
    ORDERS = "orders"
    POSITIONS = "positions"
    ACCOUNTS = "accounts"
    INTEGRITY = "integrity"


TOPICS: dict[type[Event], Topic] = {
    CandleClosed: Topic.MARKET,
    IntentProposed: Topic.DECISIONS,
    IntentRejected: Topic.DECISIONS,
    AgentFaulted: Topic.DECISIONS,
    OrderUpdated: Topic.ORDERS,
    FillBooked: Topic.ORDERS,
    ReportUnexplained: Topic.ORDERS,
    PositionChanged: Topic.POSITIONS,
    ProtectionChanged: Topic.POSITIONS,
    TradeClosed: Topic.POSITIONS,
    EquitySnapshot: Topic.POSITIONS,
    AccountStateChanged: Topic.ACCOUNTS,
    CapitalChanged: Topic.ACCOUNTS,
    BreakerTripped: Topic.ACCOUNTS,
    KillSwitchChanged: Topic.ACCOUNTS,
    InvariantViolated: Topic.INTEGRITY,
    ReconciliationRepaired: Topic.INTEGRITY,
}
"""Each event type's topic. An event of a type not listed reaches only the subscribers that
take every topic."""


@dataclass(frozen=True, slots=True)
class _Subscription:
    subscriber: Subscriber
    name: str
    topics: frozenset[Topic] | None
    """None: every topic."""


def subscriber_name(subscriber: Subscriber) -> str:
    """A readable, bounded name for logs and metric labels: the function's or the class's."""
    owner = getattr(subscriber, "__self__", None)
    if owner is not None:
        return f"{type(owner).__name__}.{getattr(subscriber, '__name__', 'call')}"
    name = getattr(subscriber, "__qualname__", None)
    return name if isinstance(name, str) else type(subscriber).__name__


class EventBus:
    def __init__(self, on_failure: FailureHook | None = None) -> None:
        self._subscriptions: list[_Subscription] = []
        self._by_type: dict[type[Event], tuple[tuple[Subscriber, _Subscription], ...]] = {}
        """Who gets an event of each type, in subscription order (built on first publish):
        the function to call and the subscription it belongs to."""
        self.published = 0
        self.failures: Counter[str] = Counter()
        """Events each subscriber raised on, by its name."""
        self.on_failure = on_failure

    def subscribe(
        self, subscriber: Subscriber, topics: Iterable[Topic] | None = None, name: str = ""
    ) -> None:
        """Deliver the events of ``topics`` (default: all) to ``subscriber``, named ``name``
        in logs and metrics (default: its function or class name)."""
        chosen = frozenset(topics) if topics is not None else None
        self._subscriptions.append(
            _Subscription(subscriber, name or subscriber_name(subscriber), chosen)
        )
        self._by_type.clear()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        for i, sub in enumerate(self._subscriptions):
            if sub.subscriber == subscriber:
                del self._subscriptions[i]
                self._by_type.clear()
                return
        raise ValueError("not subscribed")

    def _receivers(self, kind: type[Event]) -> tuple[tuple[Subscriber, _Subscription], ...]:
        topic = TOPICS.get(kind)
        found = []
        for s in self._subscriptions:
            if s.topics is None or (topic is not None and topic in s.topics):
                # A subscriber with a ``route`` names the function that takes events of this
                # type (None: it takes none of them), so it is called without dispatching
                # on the type again (the store writer, on every event).
                route = getattr(s.subscriber, "route", None)
                call = s.subscriber if route is None else route(kind)
                if call is not None:
                    found.append((call, s))
        receivers = tuple(found)
        self._by_type[kind] = receivers
        return receivers

    def hears(self, kind: type[Event]) -> bool:
        """Whether a subscriber takes events of ``kind`` now (a run that decides once whether
        to build them asks: a trial's bus takes no order's events)."""
        receivers = self._by_type.get(kind)
        if receivers is None:
            receivers = self._receivers(kind)
        return bool(receivers)

    def publish(self, event: Event) -> None:
        self.published += 1
        kind = type(event)
        receivers = self._by_type.get(kind)
        if receivers is None:
            receivers = self._receivers(kind)
        for call, sub in receivers:
            try:
                call(event)
            except Exception as exc:  # isolated: a subscriber never breaks the engine
                self._failed(sub, event, exc)

    def _failed(self, sub: _Subscription, event: Event, exc: Exception) -> None:
        self.failures[sub.name] += 1
        count = self.failures[sub.name]
        if count == 1 or count % LOG_EVERY == 0:
            log.error(
                "subscriber_failed",
                subscriber=sub.name,
                kind=type(event).__name__,
                failures=count,
                error=f"{type(exc).__name__}: {exc}",
                exc_info=count == 1,
            )
        hook = self.on_failure
        if hook is not None:
            try:
                hook(sub.name, event, exc)
            except Exception:
                log.exception("subscriber_failure_hook_failed", subscriber=sub.name)
