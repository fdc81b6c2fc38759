"""One exponential backoff for every retry loop (venues, webhooks, the LLM, the supervisor).

The n-th retry (n = 0 for the first) may wait up to ``min(cap, base × 2ⁿ)``. Callers sleep
the result on their :class:`rampart.clock.Clock`, so tests on a SimClock never wait on wall
time; those that spread many clients apart draw the wait uniformly below it (full jitter).
"""

from __future__ import annotations

import random

MAX_EXPONENT = 1000
"""Past this the doubling cannot matter (2¹⁰⁰⁰ × any sane base is beyond any cap), and a
float power past 2¹⁰²³ would overflow."""


def ceiling_s(retry: int, base_s: float, cap_s: float) -> float:
    """The wait before retry number ``retry`` (0 for the first): ``min(cap, base × 2^retry)``."""
    return min(cap_s, base_s * 2.0 ** min(max(retry, 0), MAX_EXPONENT))


def full_jitter_s(rng: random.Random, retry: int, base_s: float, cap_s: float) -> float:
    """A wait drawn uniformly from ``[0, ceiling_s(retry, base_s, cap_s)]``."""
    return rng.uniform(0.0, ceiling_s(retry, base_s, cap_s))


__all__ = ["MAX_EXPONENT", "ceiling_s", "full_jitter_s"]
