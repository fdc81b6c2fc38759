"""Faults against the ccxt venue: lost and unreadable answers, timeouts, 5xx, 429, clock skew.

Every case ends resolved: the order is either on the simulator exactly once and reported
with its real fills, or reported REJECTED because it never arrived; nothing crashes.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.domain.errors import OutcomeUnknown, VenueError
from rampart.domain.orders import OrderRole, OrderStatus, OrderType, Side
from rampart.observability.metrics import Metrics

from .helpers import ManualWall, Rig, rig

D = Decimal
ORDER = "/api/v3/order"


def _count(r: Rig, client_id: str) -> int:
    """How many orders the simulator holds with this client id (open or finished)."""
    return sum(1 for o in r.sim_orders() if o.client_id == client_id)


async def _unknown_then_resolved(r: Rig, fault: str, **params) -> None:
    r.sim.faults.add(fault, count=1, paths=[ORDER], methods=["POST"], **params)
    entry = r.order(qty="0.01")
    with pytest.raises(OutcomeUnknown):
        await r.venue.submit(entry)
    (tracked,) = r.venue.tracked()
    assert tracked.unknown and not r.reports
    for _ in range(100):  # a slowed request may still be on its way to the server
        if _count(r, entry.client_id):
            break
        await asyncio.sleep(0.02)
    await r.venue.poll()
    assert r.statuses(entry.client_id) == [OrderStatus.SUBMITTED]
    (fill,) = r.fills(entry.client_id)
    trade = r.sim.exchange.trades["a1"][-1]
    assert fill.price == D(str(trade.price)) and fill.fee_qty == D(str(trade.commission))
    assert fill.fee_asset == trade.commission_asset == "BTC"  # a buy pays from the BTC received
    assert _count(r, entry.client_id) == 1
    assert r.venue.tracked() == []
    await r.venue.poll()
    assert len(r.fills()) == 1


@pytest.mark.parametrize("fault", ["lost_response", "malformed", "truncated"])
def test_an_answer_lost_or_spoiled_after_the_order_was_placed(fault: str) -> None:
    async def go() -> None:
        async with rig() as r:
            await _unknown_then_resolved(r, fault)

    asyncio.run(go())


def test_a_create_that_timed_out_is_resolved_by_client_id() -> None:
    async def go() -> None:
        async with rig(timeout_ms=300) as r:
            await _unknown_then_resolved(r, "latency", latency_ms=600)

    asyncio.run(go())


@pytest.mark.parametrize(("fault", "params"), [("drop", {}), ("error", {"status": 503})])
def test_a_create_that_never_reached_the_exchange_ends_rejected(fault: str, params) -> None:
    async def go() -> None:
        wall = ManualWall()
        async with rig(grace_s=30, wall=wall) as r:
            r.sim.faults.add(fault, count=1, paths=[ORDER], methods=["POST"], **params)
            entry = r.order(qty="0.01")
            with pytest.raises(OutcomeUnknown):
                await r.venue.submit(entry)
            await r.venue.poll()  # within the grace period: still unknown, nothing said
            assert r.reports == [] and r.venue.tracked()[0].unknown
            r.clock.advance(31_000)
            await r.venue.poll()  # the receive window has not passed in real time yet
            assert r.reports == []
            wall.advance(r.venue.wall_grace_s("a1"))
            await r.venue.poll()
            (report,) = r.reports
            assert report.status is OrderStatus.REJECTED and report.code == "never_arrived"
            assert "never arrived" in report.reason and report.reason.endswith(".")
            assert _count(r, entry.client_id) == 0 and r.venue.tracked() == []
            # Each poll looked the order up by client id; "no such order" is the exchange's
            # answer, not a failed call: the error alerts count none of those.
            lookups = [kind for endpoint, kind in r.calls if endpoint == "lookup_order"]
            assert lookups and set(lookups) == {"not_found"}, r.calls
            metrics = Metrics()
            for endpoint, kind in r.calls:
                metrics.exchange_hook("binance")(endpoint, 0.01, kind)
            counted = metrics.registry.get_sample_value(
                "rampart_exchange_errors_total", {"venue": "binance", "kind": "not_found"}
            )
            assert counted is None, counted

    asyncio.run(go())


def test_a_retry_with_the_same_client_id_never_makes_a_second_order() -> None:
    async def go() -> None:
        async with rig() as r:
            r.sim.faults.add("lost_response", count=1, paths=[ORDER], methods=["POST"])
            entry = r.order(qty="0.01")
            with pytest.raises(OutcomeUnknown):
                await r.venue.submit(entry)
            await r.venue.submit(entry)  # the exchange says duplicate: it is looked up instead
            assert _count(r, entry.client_id) == 1
            assert r.statuses(entry.client_id) == [OrderStatus.SUBMITTED]
            assert len(r.fills(entry.client_id)) == 1
            balances = r.sim.exchange.state()["accounts"]["a1"]["balances"]
            assert balances["BTC"]["free"] == "0.00999000"  # once: 0.01 less its commission

    asyncio.run(go())


def test_429_with_retry_after_is_waited_out_on_the_clock() -> None:
    async def go() -> None:
        async with rig() as r:
            resting = r.order(
                kind=OrderType.LIMIT, qty="0.01", price=(r.price() / 2).quantize(D("0.01"))
            )
            r.sim.faults.add(
                "rate_limit", count=1, paths=[ORDER], methods=["POST"], retry_after_s=4
            )
            before = r.clock.now_ms()
            await r.venue.submit(resting)  # refused before acting: safe to send again
            assert r.clock.now_ms() - before >= 4000
            assert _count(r, resting.client_id) == 1
            r.sim.faults.add("rate_limit", count=2, paths=["/api/v3/openOrders"], retry_after_s=3)
            before = r.clock.now_ms()
            await r.venue.poll()
            assert r.clock.now_ms() - before >= 6000
            assert ("fetch_open_orders", "rate_limited") in r.calls
            assert r.venue.tracked()[0].client_id == resting.client_id

    asyncio.run(go())


@pytest.mark.parametrize("fault", ["malformed", "truncated", "drop", "error"])
def test_bad_answers_to_reads_never_crash_and_polling_recovers(fault: str) -> None:
    async def go() -> None:
        async with rig() as r:
            order = r.order(
                kind=OrderType.LIMIT, qty="0.01", price=(r.price() * D("0.999")).quantize(D("0.01"))
            )
            await r.venue.submit(order)
            r.reports.clear()
            r.sim.faults.add(fault, count=10, methods=["GET"])
            for _ in range(4):
                await r.advance(1)
                await r.venue.poll()  # logs and keeps the order; never raises
            assert r.sim.faults.fired.get(fault, 0) > 0
            assert any(kind is not None for _, kind in r.calls)
            r.sim.faults.clear()
            for _ in range(300):
                if not r.venue.tracked():
                    break
                await r.advance(1)
                await r.venue.poll()
            assert r.venue.tracked() == []
            assert sum(f.qty for f in r.fills(order.client_id)) == D("0.01")
            assert len({f.fill_id for f in r.fills()}) == len(r.fills())

    asyncio.run(go())


def test_an_unconfirmed_cancel_is_sent_again_by_poll() -> None:
    async def go() -> None:
        async with rig(timeout_ms=300) as r:
            order = r.order(
                kind=OrderType.LIMIT, qty="0.01", price=(r.price() / 2).quantize(D("0.01"))
            )
            await r.venue.submit(order)
            r.sim.faults.add("drop", paths=[ORDER], methods=["DELETE"])
            with pytest.raises(OutcomeUnknown):
                await r.venue.cancel("a1", order.client_id)
            assert r.venue.tracked()[0].cancel_wanted
            await r.venue.poll()  # still dropped: the order stays open and tracked
            assert r.sim.exchange.state()["open_orders"] == 1
            r.sim.faults.clear()
            await r.venue.poll()
            assert r.statuses(order.client_id)[-1] is OrderStatus.CANCELED
            assert r.sim.exchange.state()["open_orders"] == 0 and r.venue.tracked() == []

    asyncio.run(go())


def test_clock_skew_is_learned_and_the_request_goes_through() -> None:
    async def go() -> None:
        async with rig() as r:
            r.sim.faults.add("skew", skew_ms=60_000)
            await r.venue.submit(r.order(qty="0.01"))
            assert ("create_order", "clock") in r.calls
            assert len(r.fills()) == 1

    asyncio.run(go())


def test_a_bad_key_is_refused_in_one_sentence() -> None:
    async def go() -> None:
        async with rig() as r:
            r.venue.clients["a1"].secret = "not-the-secret"
            with pytest.raises(VenueError) as info:
                await r.venue.fetch_balances("a1")
            assert info.value.code == "auth"
            assert "check the key" in info.value.message

    asyncio.run(go())


def test_a_lost_oco_answer_leaves_both_legs_unknown_until_found() -> None:
    async def go() -> None:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.01"))
            price = r.price()
            stop = r.order(
                side=Side.SELL,
                kind=OrderType.STOP_MARKET,
                qty="0.00999",  # what the buy left once Binance took its commission
                stop=(price * D("0.9")).quantize(D("0.01")),
                role=OrderRole.STOP_LOSS,
            )
            take = r.order(
                side=Side.SELL,
                kind=OrderType.LIMIT,
                qty="0.00999",
                price=(price * D("1.1")).quantize(D("0.01")),
                role=OrderRole.TAKE_PROFIT,
            )
            stop.oco_group = take.oco_group = stop.client_id
            r.sim.faults.add("lost_response", count=1, paths=["/api/v3/orderList"])
            r.reports.clear()
            with pytest.raises(OutcomeUnknown):
                await r.venue.submit_oco(stop, take)
            assert all(t.unknown for t in r.venue.tracked()) and r.reports == []
            await r.venue.poll()
            assert r.statuses(stop.client_id) == [OrderStatus.SUBMITTED]
            assert r.statuses(take.client_id) == [OrderStatus.SUBMITTED]
            assert r.sim.exchange.state()["order_lists"] == 1
            assert not any(t.unknown for t in r.venue.tracked())

    asyncio.run(go())
