"""Request budgets on the ops clock: per token, and failed authentications per client address.

Both are :class:`rampart.runtime.ratelimit.RateLimiter` buckets, which remember a bounded number of
keys, least recently used forgotten first, so a client that invents keys (tokens, addresses)
grows no structure without bound. Forgetting a key only hands it a fresh budget; the failure
limiter also keeps one budget for all addresses together, so inventing addresses past the
bound buys nothing.
"""

from __future__ import annotations

from rampart.clock import Clock
from rampart.runtime.ratelimit import RateLimiter

MAX_CLIENTS = 4_096
ALL_CLIENTS_FACTOR = 10
"""Failures all addresses together may make: this many times one address's budget."""


ALL = object()
"""The key of the budget shared by every address."""


class FailureLimiter:
    """Failed authentications per client address, and for all addresses together.

    Past its budget an address (or everyone, past the shared one) is refused before its
    token is looked up anywhere: guessing costs the service no database query.
    """

    def __init__(self, clock: Clock, per_minute: int, *, max_clients: int = MAX_CLIENTS) -> None:
        self.per_client = RateLimiter(clock, per_minute, max_keys=max_clients)
        self.everyone = RateLimiter(clock, per_minute * ALL_CLIENTS_FACTOR, max_keys=1)

    def __len__(self) -> int:
        return len(self.per_client)

    def blocked(self, client: str) -> float | None:
        """Seconds until ``client`` may try an unknown token again; None when it may now."""
        waits = [
            w for w in (self.everyone.wait(ALL), self.per_client.wait(client)) if w is not None
        ]
        return max(waits) if waits else None

    def failed(self, client: str) -> int:
        """Record a failure; the failures from ``client`` since it was last forgotten."""
        self.everyone.take(ALL)
        self.per_client.take(client)
        bucket = self.per_client.bucket(client)
        bucket.failures += 1
        bucket.limited = False
        return bucket.failures

    def refused(self, client: str) -> tuple[int, bool]:
        """Record a refusal past the budget: the failures from ``client`` and whether this is
        the first refusal since its last plain failure (the one worth a log line)."""
        bucket = self.per_client.bucket(client)
        bucket.failures += 1
        first, bucket.limited = not bucket.limited, True
        return bucket.failures, first
