"""Every fault of the simulator, one at a time and all mixed, against the engine trading
through the real ccxt client: no crash, no order or fill lost or duplicated, every position
protected by a stop-loss throughout, and after reconciliation the books equal the exchange
exactly (cash, positions, open orders and their fills)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rampart.domain.events import FillBooked
from rampart.domain.orders import OrderStatus

from .helpers import ORDER_PATHS, RECV_WINDOW_MS, TIMEOUT_MS, Chaos, chaos

TOO_SLOW = TIMEOUT_MS + RECV_WINDOW_MS + 100
"""A create slower than this times out at the client and then lands outside the exchange's
receive window: it is refused, so the UNKNOWN order must resolve to never-arrived."""

FAULTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "latency": [
        ("latency", {"latency_ms": 30, "probability": 0.3}),
        ("latency", {"latency_ms": TOO_SLOW, "count": 3, "paths": ORDER_PATHS}),
    ],
    "drop": [("drop", {"probability": 0.3})],
    "5xx": [
        ("error", {"probability": 0.2, "status": 503}),
        ("error", {"probability": 0.1, "status": 500, "code": -1001}),
    ],
    "429_burst": [("rate_limit", {"count": 6, "retry_after_s": 2})],
    "lost_response": [("lost_response", {"probability": 0.5})],
    "malformed_json": [("malformed", {"probability": 0.3})],
    "truncated_body": [("truncated", {"probability": 0.3})],
    "clock_skew": [("skew", {"skew_ms": 4 * RECV_WINDOW_MS})],
    "mixed": [
        ("latency", {"latency_ms": 20, "probability": 0.1}),
        ("latency", {"latency_ms": TOO_SLOW, "count": 2, "paths": ORDER_PATHS}),
        ("drop", {"probability": 0.05}),
        ("error", {"probability": 0.05, "status": 502}),
        ("rate_limit", {"count": 3, "retry_after_s": 1}),
        ("lost_response", {"probability": 0.2}),
        ("malformed", {"probability": 0.05}),
        ("truncated", {"probability": 0.05}),
        ("skew", {"skew_ms": 3 * RECV_WINDOW_MS}),
    ],
}
CANDLES = 60


def _observed(rig: Chaos, name: str) -> bool:
    """The fault really hit the client (skew is a standing offset, not a drawn fault)."""
    if name == "clock_skew":
        return any(kind == "clock" for _, kind in rig.calls)
    return sum(rig.sim.faults.fired.values()) > 0


def _check_end_state(rig: Chaos) -> None:
    engine = rig.eng
    assert rig.unsettled() == []
    assert rig.truth() == []
    acc = rig.accounting()
    assert (acc.lost_orders, acc.lost_fills, acc.unresolved_orders) == (0, 0, 0), acc.details
    assert (acc.duplicated_orders, acc.duplicated_fills) == (0, 0)
    assert acc.fills_on_exchange == rig.book.fills_booked
    fills = [e.fill.fill_id for e in rig.events if isinstance(e, FillBooked)]
    assert len(fills) == len(set(fills)) >= 4
    assert engine.violations == 0
    assert rig.protection.unprotected == 0 and rig.protection.doubled == 0
    assert all(
        o.status is not OrderStatus.UNKNOWN
        for a in engine.accounts.values()
        for o in a.orders.values()
    )


@pytest.mark.parametrize("name", list(FAULTS))
def test_a_fault_never_loses_duplicates_or_unprotects_and_reconciliation_makes_books_exact(
    name: str,
) -> None:
    async def go() -> None:
        async with chaos() as rig:
            await rig.step(3)
            for kind, params in FAULTS[name]:
                rig.sim.faults.add(kind, **params)
            await rig.step(CANDLES)  # bad answers must never crash the engine
            assert _observed(rig, name)
            await rig.settle()
            report = await rig.reconcile(reason="reconnect")
            assert report.matches, report.differences
            _check_end_state(rig)

    asyncio.run(go())


def test_a_429_burst_is_waited_out_for_at_least_retry_after() -> None:
    async def go() -> None:
        async with chaos() as rig:
            await rig.step(3)
            rig.sim.faults.add("rate_limit", count=2, retry_after_s=3)
            before = rig.clock.now_ms()
            orders = await rig.ven.fetch_open_orders("a1")
            waited = rig.clock.now_ms() - before
            assert orders == [] and waited >= 2 * 3000
            assert [k for _, k in rig.calls].count("rate_limited") == 2

    asyncio.run(go())
