"""Token-2022 holdings are holdings: a token account belongs either to
the classic SPL Token program or to Token-2022 (PYUSD and many newer tokens), and the node
lists each program's accounts only when asked for that program. Reading the classic program
alone showed a Token-2022 balance as zero, and reconciliation would have taken it for coins
sold outside Rampart."""

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

from .venue_kit import USDC, chain_sleep, make_config

PYUSD = "2b1kV6DkPAnxd5ixfnxCpjxmKwqjjaYmCZfHsFu24GXo"
D = Decimal


def test_a_token_2022_balance_is_read_and_traded() -> None:
    async def main() -> None:
        kp = Keypair()
        async with start_solana_sim(slot_ms=0, markets={"PYUSD/USDC": "1"}) as sim:
            sim.fund(str(kp.pubkey()), 10**9, {PYUSD: 50 * 10**6, USDC: 100 * 10**6})
            async with httpx.AsyncClient() as http:
                market = {"base_mint": PYUSD, "quote_mint": USDC}
                venue = SolanaVenue(
                    make_config(sim, markets={"PYUSD/USDC": market}, route={"routes": ["jupiter"]}),
                    clock=SimClock(1_700_000_000_000),
                    journal=MemoryJournal(),
                    http=http,
                    keypairs={"alice": str(kp)},
                    sleep=chain_sleep(sim),
                )
                reports: list[VenueReport] = []
                venue.set_listener(reports.append)
                await venue.load(["PYUSD/USDC"])
                assert venue.instrument("PYUSD/USDC").base == "PYUSD"
                balances = await venue.fetch_balances("alice")
                assert balances["PYUSD"].free == D(50) and balances["USDC"].free == D(100)
                sell = Order(
                    "s1", "alice", "PYUSD/USDC", Side.SELL, OrderType.MARKET, D(10),
                    OrderRole.EXIT,
                )  # fmt: skip
                await venue.submit(sell)
                assert reports[-1].status is OrderStatus.FILLED and reports[-1].fill is not None
                assert reports[-1].fill.qty == D(10)
                after = await venue.fetch_balances("alice")
                assert after["PYUSD"].free == D(40)
                await venue.aclose()

    asyncio.run(main())
