"""One rate limiter for every adapter (API tokens and addresses, Telegram users).

A token bucket per key, ``per_minute`` deep and refilled continuously, on a :class:`Clock`.
It remembers a bounded number of keys, least recently used forgotten first, so a client
that invents keys (tokens, addresses, user ids) grows no structure without bound.
Forgetting a key only hands it a fresh budget.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from rampart.clock import Clock

MAX_KEYS = 10_000


@dataclass(slots=True)
class Bucket:
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
        self._buckets: OrderedDict[Hashable, Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def bucket(self, key: Hashable) -> Bucket:
        """The key's bucket, refilled to now and marked as the most recently used."""
        now = self.clock.now_ms()
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = Bucket(self.capacity, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            found.level = min(self.capacity, found.level + (now - found.at_ms) * self.per_ms)
            found.at_ms = now
        return found

    def _wait_s(self, bucket: Bucket) -> float:
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


__all__ = ["MAX_KEYS", "Bucket", "RateLimiter"]
