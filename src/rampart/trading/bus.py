"""In-process bus of typed domain events. Delivery is synchronous and in publish order."""

from __future__ import annotations

from collections.abc import Callable

from rampart.domain.events import Event

Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self.published = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.remove(subscriber)

    def publish(self, event: Event) -> None:
        self.published += 1
        for subscriber in self._subscribers:
            subscriber(event)
