"""Names of the trading core and the adapters that the fronts use as plain values or types,
re-exported here so that ``api`` and ``telegram`` depend on the facade only (``.importlinter``,
contract ``fronts-through-facade``): a settings section, the "every symbol" hold, the type of a
running account the facade hands out, a support ticket's open status, an incident's, a model
registry's refusal, the revenue report's longest span. Fronts import them from here rather than
from the helper that keeps them in the store, so no front reaches the store but through the
facade."""

from __future__ import annotations

from rampart.ml.registry import RegistryError
from rampart.observability.incidents import ACKNOWLEDGED as INCIDENT_ACKNOWLEDGED
from rampart.observability.incidents import ACTIVE as INCIDENT_ACTIVE
from rampart.observability.incidents import OPEN as INCIDENT_OPEN
from rampart.reports.revenue import MAX_WEEKS as REVENUE_MAX_WEEKS
from rampart.store.support import DEFAULT_SLA_MS, OPEN
from rampart.trading.account import AccountRuntime
from rampart.trading.investor_holds import ALL
from rampart.venues.settings import VenueConfig

__all__ = [
    "ALL",
    "DEFAULT_SLA_MS",
    "INCIDENT_ACKNOWLEDGED",
    "INCIDENT_ACTIVE",
    "INCIDENT_OPEN",
    "OPEN",
    "REVENUE_MAX_WEEKS",
    "AccountRuntime",
    "RegistryError",
    "VenueConfig",
]
