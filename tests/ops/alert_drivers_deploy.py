"""The driver of the blue-green deploy's rule for the alert harness: the gauge the
deploy watch keeps (rampart.observability.deploy_metrics) set as after a rollback by the gates
(fire) or after a deploy that was not rolled back (quiet, clear)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rampart.observability.deploy_metrics import rolled_back_gauge

if TYPE_CHECKING:
    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness


def _rolled_back(value: float) -> Callable[[Harness], None]:
    def act(h: Harness) -> None:
        gauge = rolled_back_gauge(h.metrics.registry)
        gauge.labels(old="v1", new="v2", gate="no P1 incident in the window").set(value)

    return act


def deploy_drivers(driver: type[Driver]) -> dict[str, Driver]:
    return {
        "DeployRolledBack": driver(
            fire=_rolled_back(1), quiet=_rolled_back(0), clear=_rolled_back(0)
        ),
    }
