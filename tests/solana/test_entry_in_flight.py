"""One entry in flight per symbol, on the Solana stand-in:
an entry whose first swap expired is still
being re-sent when the next candle's entry on SOL/USDC comes; the second must be refused,
or both fill into one position twice the profile's largest.

The venue waits for a confirmation only briefly (``confirm_timeout_s``), so the entry is
still working when the engine moves on to the next candle, as it is on a real chain where a
blockhash lives 60-90 s across 1-minute candles; the stand-in's slots are moved by hand.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from solders.keypair import Keypair

from rampart.agents.base import AgentBase, AgentView
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.events import Event, IntentRejected
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.solana.journal import MemoryJournal
from rampart.venues.solana.venue import SolanaVenue
from rampart_testkit.solana_sim import start_solana_sim

from .venue_kit import chain_sleep, make_config

SYMBOL = "SOL/USDC"
MINUTE = 60_000
LARGEST = Decimal("11.666666666")
"""Aggressive on 5,000 USDC at 150: 35 % is 1,750 USDC, 11.67 SOL (floored to the lamport)."""


class LongEveryCandle(AgentBase):
    """Asks for a long on every candle, as a trend agent that keeps seeing its signal does."""

    name = "long-every-candle"
    warmup = 0

    def update(self, candle: Candle) -> None:
        pass

    def decide(self, view: AgentView) -> list[Intent]:
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
            )
        ]


def _candle(i: int) -> Candle:
    return Candle(SYMBOL, i * MINUTE, 150.0, 150.0, 150.0, 150.0, 1e6, MINUTE)


def test_an_entry_being_re_sent_keeps_the_next_candles_entry_out() -> None:
    events: list[Event] = []

    async def main() -> None:
        kp = Keypair()
        async with (
            start_solana_sim(slot_ms=0, markets={SYMBOL: "150"}) as sim,
            httpx.AsyncClient() as http,
        ):
            sim.fund(str(kp.pubkey()), lamports=10**9, tokens={"USDC": 5000 * 10**6})
            market = {"base_mint": sim.mint("SOL"), "quote_mint": sim.mint("USDC")}
            clock = SimClock(0)
            venue = SolanaVenue(
                # Two confirmation polls of one slot each: the swap outlives the submit.
                make_config(sim, markets={SYMBOL: market}, confirm_timeout_s=0.2),
                clock=clock,
                journal=MemoryJournal(),
                http=http,
                keypairs={"a1": str(kp)},
                sleep=chain_sleep(sim),
            )
            await venue.load([SYMBOL])
            bus = EventBus()
            bus.subscribe(events.append)
            agent = LongEveryCandle()
            engine = Engine(
                venue=venue,
                clock=clock,
                bus=bus,
                make_agent=lambda name, params: agent,
                profile_for=get_profile,
                taker_fee=Decimal("0.001"),
            )
            await engine.add_account(
                AccountSpec("a1", agent.name, "aggressive", Decimal(5000), (SYMBOL,), quote="USDC")
            )
            acct = engine.accounts["a1"]

            # The first swap never lands: the entry waits for its blockhash to run out.
            sim.add_fault("expire", count=1)
            clock.set(MINUTE)
            await engine.on_candle(_candle(0))
            [first] = [o for o in acct.orders.values() if o.role is OrderRole.ENTRY]
            assert first.qty == LARGEST and first.filled_qty == 0

            # The next candle: still in flight, so the agent's second entry is refused.
            clock.set(2 * MINUTE)
            await engine.on_candle(_candle(1))
            assert SYMBOL not in acct.ledger.positions
            refused = [r.code for r in acct.rejections]

            # The blockhash expires, the entry is sent again and lands: one position.
            await sim.advance(200)
            for i in (2, 3, 4):
                clock.set((i + 1) * MINUTE)
                await engine.on_candle(_candle(i))
                await sim.advance(5)
            # What the chain holds and what the books hold: one entry's worth, not two (a
            # route may deliver within its quoted tolerance of the order, never twice).
            wallet = sim.state()["wallets"][str(kp.pubkey())]
            held = Decimal(wallet["tokens"][sim.mint("SOL")]).scaleb(-9)
            assert abs(held - LARGEST) <= LARGEST / 100, held
            assert acct.ledger.positions[SYMBOL].qty == held
            assert refused == ["entry_working"]
            assert engine.violations == 0

    asyncio.run(main())
    codes = [e.code for e in events if isinstance(e, IntentRejected)]
    assert set(codes) <= {"entry_working", "position_exists"} and codes[0] == "entry_working"
