"""The risk engine: profiles, pre-trade checks, position sizing and circuit breakers.

Pure decisions over the domain: no I/O, no clock reads; time arrives as event timestamps.
"""

from rampart.risk.breakers import Breakers, BreakerState, Trip
from rampart.risk.checks import RiskContext, RiskEngine, RiskVerdict
from rampart.risk.codes import RejectCode
from rampart.risk.profiles import DEFAULT_PROFILES, RiskProfile, describe, get_profile
from rampart.risk.sizing import SizeLimits, size_entry, size_limits

__all__ = [
    "DEFAULT_PROFILES",
    "BreakerState",
    "Breakers",
    "RejectCode",
    "RiskContext",
    "RiskEngine",
    "RiskProfile",
    "RiskVerdict",
    "SizeLimits",
    "Trip",
    "describe",
    "get_profile",
    "size_entry",
    "size_limits",
]
