"""Native SOL can be traded: wallets hold SOL natively, but the routes
are asked to trade the wrapped-SOL token account (``wrapAndUnwrapSol: false``, so the SOL a
position holds never mixes with the SOL that pays network fees). A market quoted in SOL is
funded with native SOL: the venue wraps what it needs, keeping ``solana.gas_reserve_sol`` for
fees, and counts native SOL above that reserve as the SOL it trades."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from solders.keypair import Keypair

from rampart.clock import SimClock
from rampart.domain.orders import Order, OrderRole, OrderStatus, OrderType, Side
from rampart.trading.ports import VenueReport
from rampart.venues.solana.journal import MemoryJournal
from rampart.venues.solana.venue import SolanaVenue
from rampart_testkit.solana_sim import start_solana_sim

from .venue_kit import SOL, chain_sleep, make_config

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
D = Decimal


def test_a_market_quoted_in_sol_trades_the_wallets_native_sol() -> None:
    async def main() -> None:
        kp = Keypair()
        who = str(kp.pubkey())
        async with start_solana_sim(slot_ms=0, markets={"BONK/SOL": "0.0000002"}) as sim:
            sim.fund(who, lamports=3 * 10**9)  # native SOL only: no wrapped-SOL account
            async with httpx.AsyncClient() as http:
                reports: list[VenueReport] = []
                market = {"base_mint": BONK, "quote_mint": SOL}
                venue = SolanaVenue(
                    make_config(sim, markets={"BONK/SOL": market}, route={"routes": ["jupiter"]}),
                    clock=SimClock(1_700_000_000_000),
                    journal=MemoryJournal(),
                    http=http,
                    keypairs={"alice": str(kp)},
                    sleep=chain_sleep(sim),
                )
                venue.set_listener(reports.append)
                await venue.load(["BONK/SOL"])
                before = await venue.fetch_balances("alice")
                # The SOL it may trade is what lies above the gas reserve.
                assert before["SOL"].free == D(3) - D("0.05")
                assert before["SOL.gas"].free == D("0.05")
                await venue.submit(
                    Order(
                        "b1", "alice", "BONK/SOL", Side.BUY, OrderType.MARKET, D(5_000_000),
                        OrderRole.ENTRY,
                    )
                )  # fmt: skip
                assert reports[-1].status is OrderStatus.FILLED, reports[-1]
                fill = reports[-1].fill
                assert fill is not None and fill.qty == D(5_000_000)
                after = await venue.fetch_balances("alice")
                # Wrapped SOL paid for the BONK; the network fees came out of the reserve.
                assert after["SOL"].free == before["SOL"].free - fill.notional
                assert D(sim.balance(who, SOL)).scaleb(-9) == after["SOL"].free
                assert D("0.049") < after["SOL.gas"].free < D("0.05")
                await venue.aclose()

    asyncio.run(main())
