"""Shared by the Solana client tests (RPC pool, routes, venue): run async tests, record what
the observer is told."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec

P = ParamSpec("P")


def aio(fn: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an async test on a fresh event loop (the suite has no async plugin)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


class Recorder:
    """A SwapObserver that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.failovers: list[tuple[str, str, str]] = []
        self.health: list[tuple[str, bool, int]] = []
        self.quotes: list[tuple[str, bool]] = []
        self.swaps: list[tuple[str, str]] = []
        self.slippages: list[tuple[str, float, float]] = []
        self.routes: list[tuple[str, str, float, str]] = []

    def quote(self, route: str, seconds: float, ok: bool) -> None:
        self.quotes.append((route, ok))

    def swap(self, route: str, outcome: str, seconds: float) -> None:
        self.swaps.append((route, outcome))

    def route_taken(self, route: str, best: str, cost: float, quote: str) -> None:
        self.routes.append((route, best, cost, quote))

    def slippage(self, route: str, quoted_bps: float, realised_bps: float) -> None:
        self.slippages.append((route, quoted_bps, realised_bps))

    def rpc_call(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        self.calls.append((endpoint, method, outcome))

    def failover(self, from_endpoint: str, to_endpoint: str, reason: str) -> None:
        self.failovers.append((from_endpoint, to_endpoint, reason))

    def endpoint_health(self, endpoint: str, up: bool, lag_slots: int) -> None:
        self.health.append((endpoint, up, lag_slots))
