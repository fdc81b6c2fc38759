"""Request budgets on the ops clock: per token, and failed authentications per client address.

Both remember a bounded number of keys, least recently used forgotten first, so a client
that invents keys (tokens, addresses) grows no structure without bound. Forgetting a key only
hands it a fresh budget; the failure limiter also keeps one budget for all addresses
together, so inventing addresses past the bound buys nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from rampart.clock import Clock

MAX_KEYS = 10_000
MAX_CLIENTS = 4_096
ALL_CLIENTS_FACTOR = 10
"""Failures all addresses together may make: this many times one address's budget."""


@dataclass(slots=True)
class _Bucket:
    level: float
    at_ms: int
    failures: int = 0
    limited: bool = False


class RateLimiter:
    """A token bucket per key (``per_minute`` deep, refilled continuously) on ``clock``."""

    def __init__(self, clock: Clock, per_minute: int, *, max_keys: int = MAX_KEYS) -> None:
        self.clock = clock
        self.capacity = float(per_minute)
        self.per_ms = per_minute / 60_000
        self.max_keys = max_keys
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def bucket(self, key: Hashable) -> _Bucket:
        """The key's bucket, refilled to now and marked as the most recently used."""
        now = self.clock.now_ms()
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = _Bucket(self.capacity, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            found.level = min(self.capacity, found.level + (now - found.at_ms) * self.per_ms)
            found.at_ms = now
        return found

    def _wait_s(self, bucket: _Bucket) -> float:
        return (1 - bucket.level) / self.per_ms / 1000

    def wait(self, key: Hashable) -> float | None:
        """None when ``key`` has a request left, else seconds until it has; spends nothing."""
        bucket = self.bucket(key)
        return None if bucket.level >= 1 else self._wait_s(bucket)

    def take(self, key: Hashable) -> float | None:
        """Spend one request. None when allowed, else seconds until one is available."""
        bucket = self.bucket(key)
        if bucket.level >= 1:
            bucket.level -= 1
            return None
        return self._wait_s(bucket)


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
