"""A buy through bags.fm is an exact input sized from a price, so it delivers close to the
order's quantity, never exactly: the engine books the quantity the chain delivered as the
order's whole execution, not as a report it cannot explain."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from solders.keypair import Keypair

from rampart.clock import SimClock
from rampart.domain.events import Event, OrderUpdated, ReportUnexplained
from rampart.domain.orders import OrderRole, OrderStatus
from rampart_testkit.solana_sim import start_solana_sim

from .test_monitor import MINUTE, SYMBOL, OneLong, _candle
from .venue_kit import SOL, engine_on_stand_in


def test_a_bags_buy_books_what_the_chain_delivered() -> None:
    events: list[Event] = []

    async def main() -> None:
        kp = Keypair()
        async with start_solana_sim(slot_ms=0, markets={SYMBOL: "150"}) as sim:
            sim.fund(str(kp.pubkey()), lamports=10**9, tokens={"USDC": 1000 * 10**6})
            async with httpx.AsyncClient() as http:
                clock = SimClock(0)
                engine = await engine_on_stand_in(
                    sim, http, kp, clock, OneLong(), events, route={"routes": ["bags"]}
                )
                acct = engine.accounts["a1"]
                clock.set(MINUTE)
                await engine.on_candle(_candle(0, 150.0))
                held = Decimal(sim.balance(str(kp.pubkey()), SOL)).scaleb(-9)
                pos = acct.ledger.positions[SYMBOL]
                assert pos.qty == held > 0
                assert not [e for e in events if isinstance(e, ReportUnexplained)]
                assert not acct.close_only
                entries = [
                    e.order
                    for e in events
                    if isinstance(e, OrderUpdated) and e.order.role is OrderRole.ENTRY
                ]
                assert entries[-1].status is OrderStatus.FILLED
                assert entries[-1].filled_qty == held
                await engine.venue.aclose()

    asyncio.run(main())
