"""The ccxt venue lowering a resting OCO pair in place (Binance's Order Amend Keep Priority),
through the real ccxt client against the simulator: one signed PUT, the same two orders with
lower quantities, and every refusal a VenueError that changes nothing here."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.clock import SimClock
from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderType, Side
from rampart.trading.ports import Amend, AmendingVenue
from rampart.venues.ccxt_amend import AMEND_COST, AMEND_PATH, amend_kind
from rampart.venues.request_budget import RequestBudget

from .helpers import SYMBOL, Rig, rig
from .test_venue_sim import HELD, _bracket

D = Decimal
AMEND = "/api/v3/order/amend/keepPriority"


async def _held_pair(r: Rig) -> tuple[str, str]:
    await r.venue.submit(r.order(qty="0.01"))  # a market buy: 0.00999 BTC arrive
    stop, take = await _bracket(r, HELD, "0.9", "1.1")
    return stop.client_id, take.client_id


def _on_sim(r: Rig) -> dict[str, tuple[int, Decimal]]:
    """Open orders on the exchange: client id → (order id, quantity)."""
    return {o.client_id: (o.seq, o.qty) for o in r.sim.exchange.sub("a1").open.values()}


def test_the_venue_declares_amend_down_only_for_binance_with_native_ocos() -> None:
    assert amend_kind("binance", "oco") is Amend.DOWN
    assert amend_kind("binance", "stop") is Amend.NONE  # no pair rests on the exchange
    for other in ("binanceus", "binanceusdm", "kraken", "bybit"):
        assert amend_kind(other, "oco") is Amend.NONE

    async def go() -> None:
        async with rig() as r:
            assert r.venue.capabilities.amend is Amend.DOWN
            assert isinstance(r.venue, AmendingVenue)
            # The request budget pays Binance's weight for it: 4.
            client = r.venue.client("a1")
            cost = client.calculate_rate_limiter_cost(
                ["private"], "PUT", AMEND_PATH, {}, {"cost": AMEND_COST}
            )
            assert RequestBudget("binance", "a", SimClock(0)).weight(cost) == 4
        async with rig(bracket_mode="monitor") as r:
            assert r.venue.capabilities.amend is Amend.NONE

    asyncio.run(go())


def test_a_shrink_keeps_both_ids_and_only_lowers_the_quantities() -> None:
    async def go() -> None:
        async with rig() as r:
            stop, take = await _held_pair(r)
            before = _on_sim(r)
            requests = dict(r.sim.context.requests)
            await r.venue.amend_oco("a1", stop, take, D("0.006"))
            after = _on_sim(r)
            assert set(after) == set(before) == {stop, take}
            for cid in (stop, take):  # same order ids, quantity lowered
                assert after[cid] == (before[cid][0], D("0.006"))
            sent = {p: n - requests.get(p, 0) for p, n in r.sim.context.requests.items()}
            # One request lowers both legs of the OCO; nothing canceled, nothing placed.
            assert {p: n for p, n in sent.items() if n} == {AMEND: 1}
            assert [t.qty for t in r.venue.tracked("a1")] == [D("0.006"), D("0.006")]
            assert ("amend_order", None) in r.calls
            # The coins the pair no longer sells are free again on the exchange.
            btc = r.sim.exchange.sub("a1").balances()["BTC"]
            assert (btc.free, btc.locked) == (D(HELD) - D("0.006"), D("0.006"))

    asyncio.run(go())


def test_growth_and_refusals_raise_and_change_nothing() -> None:
    async def go() -> None:
        async with rig() as r:
            stop, take = await _held_pair(r)
            before = _on_sim(r)
            with pytest.raises(VenueError, match="only lower"):
                await r.venue.amend_oco("a1", stop, take, D("0.01"))  # growth: not sent
            with pytest.raises(VenueError, match="only lower"):
                await r.venue.amend_oco("a1", stop, take, D(HELD))  # no change: not sent
            assert r.sim.context.requests[AMEND] == 0
            with pytest.raises(VenueError):
                await r.venue.amend_oco("a1", stop, take, D("0.0050001"))  # off the lot
            with pytest.raises(VenueError, match="no resting pair"):
                await r.venue.amend_oco("a1", stop, "nothing", D("0.005"))
            assert r.sim.context.requests[AMEND] == 1  # the off-lot one, refused there
            assert _on_sim(r) == before
            assert [t.qty for t in r.venue.tracked("a1")] == [D(HELD), D(HELD)]
            # The pair gone from the exchange (canceled by hand): "Unknown order sent."
            ex = r.sim.exchange
            order = ex.sub("a1").open[stop]
            ex.cancel(next(iter(ex.keys.values())), SYMBOL, order)
            with pytest.raises(VenueError):
                await r.venue.amend_oco("a1", stop, take, D("0.005"))
            assert [t.qty for t in r.venue.tracked("a1")] == [D(HELD), D(HELD)]

    asyncio.run(go())


def test_a_single_order_is_lowered_alone() -> None:
    """Not used by the engine (only pairs are amended), but the simulator's endpoint serves a
    lone order as Binance does: its answer carries no listStatus."""

    async def go() -> None:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.01"))
            low = (r.price() * D("0.5")).quantize(D("0.01"))
            order = r.order(side=Side.SELL, kind=OrderType.LIMIT, qty="0.009", price=low * 4)
            await r.venue.submit(order)
            client = r.venue.client("a1")
            answer = await client.request(
                "order/amend/keepPriority",
                ["private"],
                "PUT",
                {
                    "symbol": "BTCUSDT",
                    "origClientOrderId": order.client_id,
                    "newClientOrderId": order.client_id,
                    "newQty": "0.004",
                },
            )
            assert "listStatus" not in answer
            assert answer["amendedOrder"]["qty"] == "0.00400000"
            assert answer["amendedOrder"]["orderListId"] == -1
            assert _on_sim(r)[order.client_id][1] == D("0.004")

    asyncio.run(go())
