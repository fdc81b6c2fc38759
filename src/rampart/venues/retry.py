"""Backoff with full jitter on the Clock, and reading an exchange's ``Retry-After``.

Full jitter (each wait drawn uniformly from ``[0, min(cap, base × 2ⁿ)]``) spreads the retries
of many clients that failed together, so they do not hammer a recovering exchange in step.
Waits go through :meth:`rampart.clock.Clock.sleep`, so tests on a SimClock never wait on wall
time. A ``Retry-After`` from the exchange is a floor: we never come back sooner than it asked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from rampart.domain.errors import ConfigError
from rampart.runtime.backoff import full_jitter_s


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    """Tries in all, the first included; 1 means never retry."""
    base_s: float = 0.5
    cap_s: float = 30.0
    max_wait_s: float = 120.0
    """The longest single wait. An exchange asking for more (a ban) fails the call instead:
    blocking the engine for minutes inside one request would be worse than a refusal."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError("A retry policy needs at least one attempt.")
        if self.base_s < 0 or self.cap_s < self.base_s or self.max_wait_s < 0:
            raise ConfigError("Retry waits must be non-negative, with the cap above the base.")


class Backoff:
    """Waits for successive retries of one call: full jitter, floored by ``Retry-After``."""

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.rng = rng or random.Random()  # noqa: S311 - retry backoff jitter, not a secret
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        """The wait before the next try; counts one more failure."""
        delay = full_jitter_s(self.rng, self.failures, self.policy.base_s, self.policy.cap_s)
        self.failures += 1
        if retry_after is not None and retry_after > 0:
            # Asked explicitly: wait at least that long, plus a little jitter of our own.
            delay = retry_after + self.rng.uniform(0.0, min(1.0, retry_after * 0.1))
        return delay

    def too_long(self, delay: float) -> bool:
        return delay > self.policy.max_wait_s


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - now_s, 0.0)
