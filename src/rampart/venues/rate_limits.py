"""Rate-limit headroom as the exchange's own response headers state it (ccxt keeps the last
answer's headers in ``last_response_headers``). Only what a header says is reported: an
exchange that sends no such header, or sends the weight used without the limit, leaves the
headroom unknown, never estimated.

Headers read (names compared without case):

- ``X-RateLimit-Remaining`` with ``X-RateLimit-Limit`` (the common convention);
- Bybit's ``X-Bapi-Limit-Status`` (remaining) with ``X-Bapi-Limit``;
- Binance's ``X-MBX-USED-WEIGHT-1M`` (weight used this minute; Binance sends no limit, so the
  headroom stays unknown and the weight used is reported).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PAIRS = (
    ("x-ratelimit-remaining", "x-ratelimit-limit"),
    ("x-bapi-limit-status", "x-bapi-limit"),
)
USED = ("x-mbx-used-weight-1m", "x-mbx-used-weight")


@dataclass(frozen=True, slots=True)
class RateLimit:
    remaining: float | None
    limit: float | None
    used: float | None

    @property
    def headroom(self) -> float | None:
        """Share of the limit still available; None when a header does not say."""
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


def rate_limit(headers: Mapping[str, Any] | None) -> RateLimit | None:
    """What the headers say about the rate limit; None when they say nothing."""
    if not headers:
        return None
    lower = {str(k).lower(): v for k, v in headers.items()}
    used = next((_number(lower[k]) for k in USED if k in lower), None)
    for remaining_key, limit_key in PAIRS:
        if remaining_key in lower:
            return RateLimit(_number(lower[remaining_key]), _number(lower.get(limit_key)), used)
    return RateLimit(None, None, used) if used is not None else None


__all__ = ["RateLimit", "rate_limit"]
