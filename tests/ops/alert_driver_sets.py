"""The drivers of the rules kept in modules of their own (``rules_*.py``), each set in a module
beside this one, gathered for the alert harness's ``DRIVERS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.ops.alert_drivers_agents import agent_drivers
from tests.ops.alert_drivers_deploy import deploy_drivers
from tests.ops.alert_drivers_market import market_drivers
from tests.ops.alert_drivers_messaging import messaging_drivers
from tests.ops.alert_drivers_protection import protection_drivers
from tests.ops.alert_drivers_reconcile import reconcile_drivers
from tests.ops.alert_drivers_slo import slo_drivers

if TYPE_CHECKING:
    from tests.ops.alert_drivers import Driver
    from tests.ops.alert_harness import Harness


def module_drivers(driver: type[Driver], nothing: Callable[[Harness], None]) -> dict[str, Driver]:
    return {
        **market_drivers(driver, nothing),
        **messaging_drivers(driver),
        **reconcile_drivers(driver, nothing),
        **protection_drivers(driver),
        **deploy_drivers(driver),
        **slo_drivers(driver),
        **agent_drivers(driver, nothing),
    }
