"""Drivers of messaging's rules for the alert harness: a worker's link to NATS up or
down, and its next candle overdue by a given number of seconds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from rampart.clock import SimClock
from rampart.observability.messaging_metrics import CandleArrivals, watch_arrivals, watch_link

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness


@dataclass
class _Client:
    """Stands in for the nats-py client: the gauge reads only ``is_connected``."""

    is_connected: bool = True


class _Overdue(CandleArrivals):
    def __init__(self) -> None:
        super().__init__(SimClock(0), 1.0)
        self.value = 0.0

    def overdue_s(self) -> float:
        return self.value


_WIRED: WeakKeyDictionary[CollectorRegistry, tuple[_Client, _Overdue]] = WeakKeyDictionary()


def _wired(h: Harness) -> tuple[_Client, _Overdue]:
    """The messaging gauges on the harness's registry, registered once, as a worker does."""
    registry = h.metrics.registry
    if registry not in _WIRED:
        client, overdue = _Client(), _Overdue()
        watch_link(registry, "worker", lambda: client)
        watch_arrivals(registry, overdue)
        _WIRED[registry] = (client, overdue)
    return _WIRED[registry]


def _link(up: bool) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        _wired(h)[0].is_connected = up

    return act


def _overdue(seconds: float) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        _wired(h)[1].value = seconds

    return act


def messaging_drivers(driver: type[Driver]) -> dict[str, Driver]:
    return {
        "MessagingDown": driver(fire=_link(False), quiet=_link(True), clear=_link(True)),
        # One second past the 10 s overdue threshold fires.
        "CandlesStopped": driver(fire=_overdue(11), quiet=_overdue(10), clear=_overdue(0)),
    }
