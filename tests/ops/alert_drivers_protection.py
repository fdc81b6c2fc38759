"""Drivers of the bare-position rules for the alert harness: a position whose stop the
exchange refused (the monitor holds it) fires both PositionUnprotected (P1, 5 s) and
PositionUnprotectedLong (P0, 60 s); one whose stop rests is their quiet side, and its close
clears them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rampart.domain.events import ProtectionChanged

if TYPE_CHECKING:
    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness


def _cover(cover: str, reason: str) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        event = ProtectionChanged(0, "a1", "BTC/USDT", cover, reason, "refused", 0)
        h.metrics.on_event(event)

    return act


def protection_drivers(driver: type[Driver]) -> dict[str, Driver]:
    bare = driver(
        fire=_cover("monitor", "insufficient_funds"),
        quiet=_cover("exchange", ""),
        clear=_cover("flat", ""),
    )
    return {"PositionUnprotected": bare, "PositionUnprotectedLong": bare}
