"""Orders through the ccxt venue against the exchange simulator, and the venue's overhead.

Run with ``make bench``. Prints:

- orders per second through ``CcxtVenue.submit`` (one account, one order at a time, then
  ``--accounts`` accounts sending at once);
- the time of one order through the venue against one bare signed ``POST /api/v3/order``
  with aiohttp (the HTTP round trip alone), and the difference: what ccxt and the venue add
  per order (request building, signing, parsing, mapping, fill reporting).

Asserts nothing; the simulator runs in this process, so its own handling is in both figures.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import percentile, quiet_logs
from rampart.clock import SimClock
from rampart.domain.orders import Order, OrderRole, OrderType, Side, client_order_id
from rampart.venues.ccxt_venue import CcxtVenue
from rampart_testkit.simulator import ccxt_client, start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle

SYMBOL = "BTC/USDT"
QTY = Decimal("0.001")
RICH = {"USDT": "1000000000", "BTC": "1000"}


def _order(account: str, seq: int) -> Order:
    side = Side.BUY if seq % 2 else Side.SELL
    return Order(
        client_id=client_order_id(account, seq, OrderRole.ENTRY),
        account_id=account,
        symbol=SYMBOL,
        side=side,
        type=OrderType.MARKET,
        qty=QTY,
        role=OrderRole.ENTRY,
    )


async def _venue(sim: SimulatorHandle, accounts: list[str]) -> CcxtVenue:
    clients = {}
    for account in accounts:
        key, secret = sim.create_account(RICH, account_id=account)
        clients[account] = ccxt_client(sim.url, key, secret, enableRateLimit=False)
    venue = CcxtVenue(clients, clock=SimClock(sim.exchange.now_ms), rng=random.Random(1))
    await venue.load([SYMBOL])
    return venue


async def _through_venue(venue: CcxtVenue, account: str, n: int, start: int) -> list[float]:
    times = []
    for i in range(n):
        began = time.perf_counter()
        await venue.submit(_order(account, start + i))
        times.append(time.perf_counter() - began)
    return times


async def _bare(sim: SimulatorHandle, key: str, secret: str, n: int, start: int) -> list[float]:
    """Signed market orders posted with aiohttp alone, as Binance's API documents them."""
    times = []
    async with aiohttp.ClientSession(headers={"X-MBX-APIKEY": key}) as http:
        for i in range(n):
            params = {
                "symbol": "BTCUSDT",
                "side": "BUY" if i % 2 else "SELL",
                "type": "MARKET",
                "quantity": str(QTY),
                "newClientOrderId": f"bare-{start + i}",
                "newOrderRespType": "FULL",
                "recvWindow": "5000",
                "timestamp": str(time.time_ns() // 1_000_000),
            }
            query = urlencode(params)
            signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
            began = time.perf_counter()
            async with http.post(
                f"{sim.url}/api/v3/order",
                data=f"{query}&signature={signature}",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ) as response:
                body = await response.json()
            times.append(time.perf_counter() - began)
            if response.status != 200:
                raise SystemExit(f"the simulator refused a bare order: {body}")
    return times


def _line(name: str, times: list[float]) -> str:
    mean = sum(times) / len(times)
    return (
        f"{name:34} {len(times):6} {1 / mean:9,.0f}/s  mean {mean * 1000:6.2f} ms  "
        f"p50 {percentile(times, 50) * 1000:6.2f}  p95 {percentile(times, 95) * 1000:6.2f}"
    )


async def main_async(n: int, accounts: int) -> None:
    async with start_simulator(symbols=[SYMBOL]) as sim:
        await sim.advance(3)
        ids = [f"acct-{i}" for i in range(accounts)]
        venue = await _venue(sim, ids)
        await _through_venue(venue, ids[0], 20, 10_000_000)  # warm the connections
        key, secret = sim.create_account(RICH, account_id="bare")
        await _bare(sim, key, secret, 20, 10_000_000)
        bare = await _bare(sim, key, secret, n, 0)
        single = await _through_venue(venue, ids[0], n, 1)
        print(_line("bare signed POST (aiohttp)", bare))
        print(_line("CcxtVenue.submit, one at a time", single))
        began = time.perf_counter()
        await asyncio.gather(*(_through_venue(venue, a, n // accounts, 20_000_000) for a in ids))
        wall = time.perf_counter() - began
        total = (n // accounts) * accounts
        print(
            f"{'CcxtVenue.submit, ' + str(accounts) + ' accounts at once':34} {total:6} "
            f"{total / wall:9,.0f}/s  (wall {wall:.2f} s)"
        )
        overhead = (sum(single) / len(single) - sum(bare) / len(bare)) * 1000
        print(f"venue overhead per order over the bare round trip: {overhead:.2f} ms")
        await venue.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=10)
    args = parser.parse_args()
    quiet_logs()
    asyncio.run(main_async(args.orders, args.accounts))


if __name__ == "__main__":
    main()
