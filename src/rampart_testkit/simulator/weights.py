"""Request weight per address, as Binance counts it: a limit per minute, 429 past it, a ban
(418) for an address that keeps sending after its 429s.

Binance (rest-api.md, "LIMITS"): every request has a weight (its endpoint's, some by
parameters), counted per IP address in fixed windows of the published ``REQUEST_WEIGHT``
interval; each answer carries ``X-MBX-USED-WEIGHT-1M``. A request that would pass the limit is
refused with 429 (-1003) and a ``Retry-After`` until the window turns; "repeatedly violating
rate limits and/or failing to back off after receiving 429s will result in an automated IP ban
(HTTP status 418)", from 2 minutes up, its ``Retry-After`` the seconds until the ban ends.

Here: after a 429, each further request from the address before its window turns is refused
too and is a strike; the ``ban_after``-th strike bans the address for ``ban_s`` seconds. Times
are the simulator's real time (the wall, or the clock a test injects).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOW_MS = 60_000
PUBLISHED_LIMIT = 6000
"""Binance's published REQUEST_WEIGHT per minute, enforced only when a limit is set."""

_WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/uiKlines"): 2,
    ("GET", "/api/v3/avgPrice"): 2,
    ("GET", "/api/v3/depth"): 5,
    ("GET", "/api/v3/account"): 20,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("PUT", "/api/v3/order/amend/keepPriority"): 4,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("POST", "/api/v3/orderList/oco"): 1,
    ("POST", "/api/v3/order/oco"): 1,
    ("GET", "/api/v3/orderList"): 4,
    ("DELETE", "/api/v3/orderList"): 1,
    ("GET", "/api/v3/openOrderList"): 6,
    ("GET", "/api/v3/allOrderList"): 20,
}
"""Endpoint weights from Binance's spot reference (the ones that do not depend on parameters)."""


def weight(method: str, path: str, params: dict[str, str]) -> int:
    """The weight Binance charges for this request."""
    method = method.upper()
    with_symbol = bool(params.get("symbol"))
    if path in ("/api/v3/ticker/24hr", "/api/v3/ticker/price", "/api/v3/ticker/bookTicker"):
        if with_symbol:
            return 2
        return 80 if path.endswith("24hr") else 4
    if method == "GET" and path == "/api/v3/openOrders":
        return 6 if with_symbol else 80
    if method == "GET" and path == "/api/v3/myTrades":
        return 5 if params.get("orderId") else 20
    return _WEIGHTS.get((method, path), 1)


@dataclass
class Address:
    window_start: int = 0
    used: int = 0
    strikes: int = 0
    retry_until_ms: int = 0
    banned_until_ms: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    status: int
    """200 (go on), 429 or 418."""
    used: int
    retry_after_s: int = 0
    banned_until_ms: int = 0


@dataclass
class WeightLimits:
    limit: int | None = None
    """REQUEST_WEIGHT per minute per address; None: counted and reported, never refused."""
    ban_after: int = 3
    """Strikes (requests sent while a 429's Retry-After runs) that earn a ban."""
    ban_s: int = 120
    addresses: dict[str, Address] = field(default_factory=dict)
    refused: int = 0
    bans: int = 0

    @property
    def published(self) -> int:
        return self.limit if self.limit is not None else PUBLISHED_LIMIT

    def charge(self, address: str, now_ms: int, cost: int) -> Verdict:
        """Count one request of ``cost`` from ``address`` at ``now_ms``."""
        a = self.addresses.setdefault(address, Address())
        start = now_ms - now_ms % WINDOW_MS
        if start != a.window_start:
            a.window_start, a.used = start, 0
        if now_ms < a.banned_until_ms:
            return Verdict(418, a.used, _seconds(a.banned_until_ms - now_ms), a.banned_until_ms)
        if now_ms < a.retry_until_ms:
            # Sent while told to wait: refused again, and counted towards a ban.
            a.strikes += 1
            if a.strikes >= self.ban_after:
                a.banned_until_ms = now_ms + self.ban_s * 1000
                a.strikes, self.bans = 0, self.bans + 1
                return Verdict(418, a.used, self.ban_s, a.banned_until_ms)
            self.refused += 1
            return Verdict(429, a.used, _seconds(a.retry_until_ms - now_ms))
        a.strikes = 0
        if self.limit is not None and a.used + cost > self.limit:
            self.refused += 1
            a.retry_until_ms = start + WINDOW_MS
            return Verdict(429, a.used, _seconds(a.retry_until_ms - now_ms))
        a.used += cost
        return Verdict(200, a.used)

    def most_used(self) -> int:
        """The most weight any address has used in its current window."""
        return max((a.used for a in self.addresses.values()), default=0)


def _seconds(ms: int) -> int:
    return max((ms + 999) // 1000, 1)
