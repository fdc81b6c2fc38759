"""Drivers of the agents' rule for the alert harness: one decision past its deadline
fires AgentOverran naming the agent; a refused answer (another kind of fault) is its quiet side."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rampart.domain.events import AgentFaulted

if TYPE_CHECKING:
    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness


def _fault(kind: str) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        event = AgentFaulted(0, "a1", "slowpoke", "BTC/USDT", kind, "agent slowpoke ...", 1)
        h.metrics.launch.agents.on_event(event)

    return act


def agent_drivers(driver: type[Driver], nothing: Callable[[Harness], None]) -> dict[str, Driver]:
    overran = _fault("overran")
    return {
        "AgentOverran": driver(
            fire=overran,
            sustain_fire=overran,
            quiet=_fault("answer"),  # counted, not this rule's
            clear=nothing,
            windowed=True,
        ),
    }
