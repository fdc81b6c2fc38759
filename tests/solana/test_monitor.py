"""Brackets on a DEX: nothing rests on the chain, so the engine's position monitor holds the
stop-loss and the take-profit of every Solana position and sends the exit swap on the first
price update that crosses either level (a tick between candles, not the next candle)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from solders.keypair import Keypair

from rampart.agents.base import AgentBase, AgentView
from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.events import Event, OrderUpdated, TradeClosed
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, OrderStatus, Side
from rampart_testkit.solana_sim import start_solana_sim

from .venue_kit import engine_on_stand_in

SYMBOL = "SOL/USDC"
MINUTE = 60_000


class OneLong(AgentBase):
    """Buys once on the first candle with a bracket at entry × 0.97 / × 1.05."""

    name = "one-long"
    warmup = 0

    def __init__(self) -> None:
        self.done = False

    def update(self, candle: Candle) -> None:
        pass

    def decide(self, view: AgentView) -> list[Intent]:
        if self.done:
            return []
        self.done = True
        entry = Decimal(repr(view.candle.close))
        inst = view.instrument
        return [
            Intent(
                view.account_id,
                SYMBOL,
                Side.BUY,
                IntentAction.OPEN,
                entry,
                inst.round_price(entry * Decimal("0.97")),
                inst.round_price(entry * Decimal("1.05")),
                agent=self.name,
                ts=view.ts,
                size_hint=Decimal("0.2"),
            )
        ]


def _candle(i: int, price: float) -> Candle:
    return Candle(SYMBOL, i * MINUTE, price, price, price, price, 1e6, MINUTE)


def test_a_tick_through_the_stop_sends_the_exit_swap_at_once() -> None:
    events: list[Event] = []

    async def main() -> None:
        kp = Keypair()
        async with start_solana_sim(slot_ms=0, markets={SYMBOL: "150"}) as sim:
            sim.fund(str(kp.pubkey()), lamports=10**9, tokens={"USDC": 1000 * 10**6})
            async with httpx.AsyncClient() as http:
                clock = SimClock(0)
                engine = await engine_on_stand_in(sim, http, kp, clock, OneLong(), events)
                acct = engine.accounts["a1"]

                clock.set(MINUTE)
                await engine.on_candle(_candle(0, 150.0))
                pos = acct.ledger.positions[SYMBOL]
                assert pos.qty > 0 and pos.stop_loss < Decimal(150) < pos.take_profit
                assert engine.executor.is_protected(acct, pos)
                assert engine.violations == 0
                # Nothing rests on the chain: the legs are held, the chain saw one swap.
                legs = {o.role for o in acct.orders.values() if o.is_open}
                assert legs == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
                assert len(sim.state()["transactions"]) == 1

                # A tick between the levels changes nothing.
                sim.set_price(SYMBOL, "148")
                clock.set(MINUTE + 10_000)
                await engine.on_price(SYMBOL, Decimal("148"))
                assert SYMBOL in acct.ledger.positions
                assert len(sim.state()["transactions"]) == 1

                # The first tick through the stop sells at once, before any next candle.
                sim.set_price(SYMBOL, "144")
                clock.set(MINUTE + 20_000)
                await engine.on_price(SYMBOL, Decimal("144"))
                assert SYMBOL not in acct.ledger.positions
                txs = sim.state()["transactions"]
                assert len(txs) == 2 and txs[1]["err"] is None
                assert not [o for o in acct.orders.values() if o.is_open]
                assert engine.violations == 0
                wallet = sim.state()["wallets"][str(kp.pubkey())]
                assert wallet["tokens"].get(sim.mint("SOL"), 0) == 0
                assert acct.ledger.cash == Decimal(wallet["tokens"][sim.mint("USDC")]).scaleb(-6)

    asyncio.run(main())
    assert len([e for e in events if isinstance(e, TradeClosed)]) == 1
    exits = {
        e.order.client_id: e.order
        for e in events
        if isinstance(e, OrderUpdated) and e.order.role is OrderRole.EXIT
    }
    assert [o.reason for o in exits.values()] == ["position monitor"]
    assert all(o.status is OrderStatus.FILLED for o in exits.values())
