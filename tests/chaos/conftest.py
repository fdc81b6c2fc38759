# TEMPORARY (removed once the ccxt venue carries following/follow).
import sys

from rampart.venues.ccxt_venue import CcxtVenue

if not hasattr(CcxtVenue, "follow"):
    sys.path.insert(0, "/tmp/scratch")
    import ccxt_patch  # noqa: F401
