"""The lease is checked again when an order is signed, with the real ccxt client
against the exchange simulator.

A worker checks its lease before it begins to send; the reads an order needs first, the
request budget or a stall can then take seconds. In the fleet chaos run a worker sent a
protective pair after the shard's next holder had taken it over, and both sent the same client
ids. Here the lease runs out between the first check and the signing: the pair never reaches
the exchange, and reads made on the way still pass."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.domain.errors import VenueError
from rampart.domain.orders import OrderRole, OrderType, Side
from rampart.fleet.fenced_venue import FENCED, FencedVenue

from .helpers import Rig, rig

D = Decimal


class Lease:
    """Valid for the first ``checks`` questions, then run out."""

    def __init__(self, checks: int) -> None:
        self.left = checks
        self.refused = 0

    def valid(self) -> bool:
        self.left -= 1
        return self.left >= 0

    def refuse(self) -> None:
        self.refused += 1


def _pair(r: Rig) -> tuple:
    price = r.price()
    stop = r.order(
        side=Side.SELL, kind=OrderType.STOP_MARKET, qty="0.005",
        stop=(price * D("0.95")).quantize(D("0.01")), role=OrderRole.STOP_LOSS,
    )  # fmt: skip
    take = r.order(
        side=Side.SELL, kind=OrderType.LIMIT, qty="0.005",
        price=(price * D("1.05")).quantize(D("0.01")), role=OrderRole.TAKE_PROFIT,
    )  # fmt: skip
    stop.oco_group = take.oco_group = stop.client_id
    return stop, take


def test_a_pair_signed_after_the_lease_ran_out_never_reaches_the_exchange() -> None:
    """The lease holds for the check before sending and has run out when the pair is signed
    (the reads the pair makes first are not checked)."""

    async def go() -> tuple[str, int, int, list[str]]:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.01"))  # a position to protect
            lease = Lease(1)
            fenced = FencedVenue(r.venue, lease.valid, lease.refuse, shard=3)
            stop, take = _pair(r)
            with pytest.raises(VenueError) as refused:
                await fenced.submit_oco(stop, take)
            sent = r.sim.context.arrived()
            return refused.value.code or "", lease.refused, len(r.sim_orders()), sent

    code, refusals, on_exchange, sent = asyncio.run(go())
    assert code == FENCED and refusals == 1
    assert on_exchange == 1  # the entry only: no leg of the pair was made
    assert len(sent) == 1  # the simulator received the entry's id and nothing else


def test_a_pair_sent_while_the_lease_holds_is_made() -> None:
    async def go() -> int:
        async with rig() as r:
            await r.venue.submit(r.order(qty="0.01"))
            lease = Lease(100)
            await FencedVenue(r.venue, lease.valid, lease.refuse, shard=3).submit_oco(*_pair(r))
            return len(r.sim_orders())

    assert asyncio.run(go()) == 3
