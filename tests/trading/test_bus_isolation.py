"""A subscriber of the event bus that raises on every event never reaches the engine: trading
goes on, and every other subscriber still gets every event."""

from __future__ import annotations

import asyncio

from rampart.domain.events import (
    CandleClosed,
    Event,
    FillBooked,
    InvariantViolated,
    OrderUpdated,
    TradeClosed,
)
from rampart.trading.bus import TOPICS, EventBus, Topic

from .helpers import ScriptedAgent, build, candle, feed, long_intent


def _churn(i: int, view) -> list:  # type: ignore[no-untyped-def]
    # A long whenever flat; the path below reaches its take-profit or its stop within bars.
    return [long_intent(view, "0.98", "1.03")] if view.position is None else []


def _candles() -> list:  # type: ignore[type-arg]
    prices = [100, 100, 104, 100, 100, 96, 100] * 8
    return [candle(i, p, p * 1.01, p * 0.99, p) for i, p in enumerate(prices)]


def test_a_subscriber_raising_on_every_event_does_not_stop_the_engine() -> None:
    async def scenario() -> tuple[list[Event], int]:
        engine, _venue, clock, bus = await build(ScriptedAgent(_churn))
        calls = 0

        def broken(event: Event) -> None:
            nonlocal calls
            calls += 1
            raise RuntimeError("this subscriber has a bug")

        seen: list[Event] = []
        bus.subscribe(broken)  # first: the others come after it
        bus.subscribe(seen.append)
        await feed(engine, clock, _candles())
        assert engine.violations == 0
        return seen, calls

    seen, calls = asyncio.run(scenario())
    assert calls == len(seen) > 0  # it was called on every event, and raised on each
    assert sum(isinstance(e, FillBooked) for e in seen) >= 4
    assert sum(isinstance(e, TradeClosed) for e in seen) >= 2


def test_failures_are_counted_per_subscriber_and_handed_to_the_hook() -> None:
    hooked: list[tuple[str, str]] = []
    bus = EventBus(on_failure=lambda name, event, exc: hooked.append((name, str(exc))))
    got: list[Event] = []

    def broken(event: Event) -> None:
        raise ValueError("no")

    bus.subscribe(broken, name="broken")
    bus.subscribe(got.append, name="good")
    for ts in range(3):
        bus.publish(CandleClosed(ts, candle(ts, 100, 100, 100, 100)))
    assert bus.failures == {"broken": 3}
    assert hooked == [("broken", "no")] * 3
    assert len(got) == 3 and bus.published == 3


def test_a_subscriber_gets_only_the_topics_it_names() -> None:
    bus = EventBus()
    orders: list[Event] = []
    everything: list[Event] = []
    bus.subscribe(orders.append, [Topic.ORDERS])
    bus.subscribe(everything.append)
    bus.publish(CandleClosed(1, candle(1, 100, 100, 100, 100)))
    bus.publish(InvariantViolated(2, "a1", "cash", "negative"))
    assert orders == [] and len(everything) == 2
    assert set(TOPICS) >= {CandleClosed, OrderUpdated, FillBooked, TradeClosed}
    bus.unsubscribe(everything.append)
    bus.publish(CandleClosed(3, candle(3, 100, 100, 100, 100)))
    assert len(everything) == 2


def test_a_routed_subscriber_gets_its_types_from_its_handler_and_stays_isolated() -> None:
    # The store writer names a handler per event type (route); the bus calls that handler
    # directly, skips the types routed to None, and a handler that raises is still counted
    # under the subscriber's own name while the next subscriber gets the event.
    class Routed:
        def __init__(self) -> None:
            self.orders: list[Event] = []

        def __call__(self, event: Event) -> None:
            raise AssertionError("called around its route")

        def route(self, kind: type) -> object:
            if kind is InvariantViolated:
                return self.broken
            return self.orders.append if kind is TradeClosed else None

        def broken(self, event: Event) -> None:
            raise RuntimeError("no")

    bus = EventBus()
    routed, after = Routed(), []
    bus.subscribe(routed)
    bus.subscribe(after.append)
    trade = TradeClosed(1, None)  # type: ignore[arg-type]
    bus.publish(trade)
    bus.publish(InvariantViolated(2, "a", "cash", "x"))
    bus.publish(CandleClosed(3, None))  # type: ignore[arg-type]
    assert routed.orders == [trade]
    assert bus.failures == {"Routed": 1}
    assert len(after) == 3


def test_the_bus_says_whether_anything_takes_a_kind_of_event_now() -> None:
    """What a run asks once to decide whether to build events of a kind at all."""

    class Routed:
        def __call__(self, event: Event) -> None:
            pass

        def route(self, kind: type) -> object:
            return self if kind is TradeClosed else None

    bus = EventBus()
    assert not bus.hears(OrderUpdated)
    bus.subscribe(Routed())
    assert bus.hears(TradeClosed) and not bus.hears(OrderUpdated)  # routed to None
    fills: list[Event] = []
    bus.subscribe(fills.append, [Topic.ORDERS])  # as an agent hearing its fills does
    assert bus.hears(OrderUpdated) and bus.hears(FillBooked)
    assert not bus.hears(InvariantViolated)
    bus.unsubscribe(fills.append)
    assert not bus.hears(OrderUpdated)
