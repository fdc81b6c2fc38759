"""The one reader of an exchange's rate-limit headers: what the request budget counts
(:mod:`rampart.venues.request_budget`), the retry waits for and the headroom gauge reports.
Only what a header says is reported: an exchange that sends no such header, or sends the
weight used without the limit and has published no limit either, leaves the headroom unknown,
never estimated.

Headers read (names compared without case):

- ``X-RateLimit-Remaining`` with ``X-RateLimit-Limit`` (the common convention);
- Bybit's ``X-Bapi-Limit-Status`` (remaining) with ``X-Bapi-Limit``;
- Binance's ``X-MBX-USED-WEIGHT-<n><unit>`` (weight used in the current window of that span;
  the limit is the one Binance publishes in ``exchangeInfo.rateLimits``, which the request
  budget learns: the headroom is known once it has);
- ``Retry-After`` on a 429 or 418: delta-seconds or an HTTP date.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rampart.venues.retry import parse_retry_after

PAIRS = (
    ("x-ratelimit-remaining", "x-ratelimit-limit"),
    ("x-bapi-limit-status", "x-bapi-limit"),
)
_USED_WINDOW = re.compile(r"^x-mbx-used-weight-(\d+)([smhd])$", re.IGNORECASE)
_USED_PLAIN = "x-mbx-used-weight"
UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MINUTE_MS = 60_000

PublishedLimit = Callable[[int], float | None]
"""The weight limit the exchange published for a window of that many ms, if it has."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    remaining: float | None
    limit: float | None
    used: float | None

    @property
    def headroom(self) -> float | None:
        """Share of the limit still available; None when neither header nor publication says."""
        if self.remaining is None or not self.limit:
            return None
        return max(0.0, min(1.0, self.remaining / self.limit))

    def describe(self) -> str:
        if self.headroom is not None:
            return f"{self.headroom:.0%} left ({self.remaining:g} of {self.limit:g})"
        if self.used is not None:
            return f"unknown ({self.used:g} used, no limit in the headers)"
        return "unknown"


def _number(value: Any) -> float | None:
    try:
        found = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return found if found >= 0 else None


def _lower(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in (headers or {}).items()}


def used_weights(headers: Mapping[str, Any] | None) -> dict[int, float]:
    """Weight used per window span (ms), as ``X-MBX-USED-WEIGHT-<n><unit>`` headers state."""
    found: dict[int, float] = {}
    for name, value in (headers or {}).items():
        match = _USED_WINDOW.match(str(name))
        used = _number(value)
        if match is not None and used is not None:
            found[int(match.group(1)) * UNIT_MS[match.group(2).lower()]] = used
    return found


def retry_after_s(headers: Mapping[str, Any] | None, now_s: float | None = None) -> float | None:
    """Seconds the exchange asked to wait (``Retry-After``); None when it did not say."""
    value = _lower(headers).get("retry-after")
    return parse_retry_after(None if value is None else str(value), now_s or time.time())


def rate_limit(
    headers: Mapping[str, Any] | None, published: PublishedLimit | None = None
) -> RateLimit | None:
    """What the headers say about the rate limit; None when they say nothing. ``published``
    gives a used-weight header its limit when the exchange has published one."""
    if not headers:
        return None
    lower = _lower(headers)
    for remaining_key, limit_key in PAIRS:
        if remaining_key in lower:
            return RateLimit(
                _number(lower[remaining_key]), _number(lower.get(limit_key)), _used(lower)
            )
    windows = used_weights(headers)
    if windows:
        # The busiest published window is the one that refuses first.
        known = [
            (used / limit, used, limit)
            for span, used in windows.items()
            if published is not None and (limit := published(span))
        ]
        if known:
            _, busiest, limit = max(known)
            return RateLimit(max(limit - busiest, 0.0), limit, busiest)
        return RateLimit(None, None, windows.get(MINUTE_MS, max(windows.values())))
    plain = _used(lower)
    return RateLimit(None, None, plain) if plain is not None else None


def _used(lower: Mapping[str, Any]) -> float | None:
    windows = used_weights(lower)
    if windows:
        return windows.get(MINUTE_MS, max(windows.values()))
    return _number(lower[_USED_PLAIN]) if _USED_PLAIN in lower else None


__all__ = ["PublishedLimit", "RateLimit", "rate_limit", "retry_after_s", "used_weights"]
