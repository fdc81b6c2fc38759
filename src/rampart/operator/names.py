"""Names of the trading core and the adapters that the fronts use as plain values or types,
re-exported here so that ``api`` and ``telegram`` depend on the facade only (``.importlinter``,
contract ``fronts-through-facade``): a settings section, the "every symbol" hold, the type of a
running account the facade hands out, a support ticket's open status."""

from __future__ import annotations

from rampart.store.support import DEFAULT_SLA_MS, OPEN
from rampart.trading.account import AccountRuntime
from rampart.trading.investor_holds import ALL
from rampart.venues.settings import VenueConfig

__all__ = ["ALL", "DEFAULT_SLA_MS", "OPEN", "AccountRuntime", "VenueConfig"]
