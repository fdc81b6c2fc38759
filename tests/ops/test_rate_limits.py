"""Rate-limit headroom from the exchange's own headers, after every answered ccxt call; unknown
(never estimated) when the headers do not state it."""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt.async_support as ccxt
import pytest

from rampart.clock import SimClock
from rampart.observability.metrics import Metrics
from rampart.observability.rate_limit_metrics import watch_rate_limits
from rampart.venues.ccxt_errors import CcxtCaller, Op
from rampart.venues.rate_limits import rate_limit, retry_after_s
from rampart.venues.request_budget import RequestBudget
from rampart.venues.retry import RetryPolicy


@pytest.mark.parametrize(
    "headers, headroom, used, words",
    [
        ({"X-RateLimit-Remaining": "90", "X-RateLimit-Limit": "120"}, 0.75, None, "75% left"),
        ({"X-Bapi-Limit-Status": "10", "X-Bapi-Limit": "50"}, 0.2, None, "20% left"),
        ({"x-mbx-used-weight-1m": "37"}, None, 37.0, "unknown (37 used"),
        ({"X-RateLimit-Remaining": "5"}, None, None, "unknown"),  # no limit: not guessed
        ({"Content-Type": "application/json"}, None, None, "unknown"),
    ],
)
def test_headroom_is_what_the_headers_state(
    headers: dict[str, str], headroom: float | None, used: float | None, words: str
) -> None:
    found = rate_limit(headers)
    assert (found.headroom if found else None) == headroom
    assert (found.used if found else None) == used
    assert (found.describe() if found else "unknown").startswith(words)


class _Exchange:
    """A ccxt client's shape: the answer, and the headers of the last response."""

    def __init__(self) -> None:
        self.last_response_headers: dict[str, Any] = {}
        self.has: dict[str, bool] = {}


class _Venue:
    def __init__(self, caller: CcxtCaller) -> None:
        self.name = "binance"
        self.caller = caller


def test_every_answered_call_updates_the_gauges() -> None:
    metrics = Metrics()
    caller = CcxtCaller("binance", SimClock(0), RetryPolicy())
    assert watch_rate_limits(_Venue(caller), metrics.launch.rate_limits)
    client = _Exchange()

    async def answer() -> dict[str, str]:
        return {"ok": "yes"}

    def value(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"venue": "binance"})

    client.last_response_headers = {"x-mbx-used-weight-1m": "1200"}
    asyncio.run(caller.call(client, "fetch_ticker", Op.READ, answer))
    assert value("rampart_exchange_rate_limit_used") == 1200
    assert value("rampart_exchange_rate_limit_known") == 0  # Binance sends no limit
    assert value("rampart_exchange_rate_limit_headroom_ratio") is None
    client.last_response_headers = {"X-RateLimit-Remaining": "30", "X-RateLimit-Limit": "120"}
    asyncio.run(caller.call(client, "fetch_ticker", Op.READ, answer))
    assert value("rampart_exchange_rate_limit_known") == 1
    assert value("rampart_exchange_rate_limit_headroom_ratio") == 0.25
    assert metrics.launch.rate_limits.describe("binance") == "25% left (30 of 120)"
    assert metrics.launch.rate_limits.describe("kraken") == "unknown"
    assert not watch_rate_limits(object(), metrics.launch.rate_limits)  # paper: no headers


def test_a_used_weight_header_takes_the_limit_the_exchange_published() -> None:
    """Binance states the weight used, not the limit: the headroom is known only once the
    budget has learned the published limit for that window, and then it is the same count."""
    clock = SimClock(0)
    budget = RequestBudget("binance", "default", clock)
    caller = CcxtCaller("binance", clock, RetryPolicy(), budget=budget)
    metrics = Metrics()
    assert watch_rate_limits(_Venue(caller), metrics.launch.rate_limits)
    client = ccxt.binance()  # the real client: the budget wraps its own request steps

    async def answer() -> dict[str, str]:
        return {"ok": "yes"}

    def value(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"venue": "binance"})

    client.last_response_headers = {"X-MBX-USED-WEIGHT-1M": "1500"}
    asyncio.run(caller.call(client, "fetch_ticker", Op.READ, answer))
    assert value("rampart_exchange_rate_limit_known") == 0  # ccxt's pace is not published
    budget.learn(
        [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 61000,
            },
        ]
    )
    asyncio.run(caller.call(client, "fetch_ticker", Op.READ, answer))
    assert value("rampart_exchange_rate_limit_known") == 1
    assert value("rampart_exchange_rate_limit_headroom_ratio") == 0.75
    assert metrics.launch.rate_limits.describe("binance") == "75% left (4500 of 6000)"
    # The budget reads the same header: its count for the minute is the exchange's.
    budget.observe(200, client.last_response_headers)
    assert budget.used_ratio() == 0.25
    assert rate_limit({"X-MBX-USED-WEIGHT-1M": "1500"}, budget.published_limit).headroom == 0.75
    assert rate_limit({"X-MBX-USED-WEIGHT-10S": "1500"}, budget.published_limit).headroom is None
    asyncio.run(client.close())


def test_retry_after_is_read_once_for_the_budget_and_the_retry() -> None:
    assert retry_after_s({"retry-after": "7"}) == 7.0
    assert retry_after_s({"Retry-After": "Thu, 01 Jan 1970 00:01:40 GMT"}, now_s=40) == 60.0
    assert retry_after_s({"Retry-After": "soon"}) is None
    assert retry_after_s({}) is None
    budget = RequestBudget("binance", "default", SimClock(0))
    budget.observe(429, {"Retry-After": "12"})
    assert budget.blocked_until_ms == 12_000
    budget.observe(429, {"Retry-After": "nonsense"})  # unreadable: the shortest wait, 1 s
    assert budget.blocked_until_ms == 12_000
