"""Swaps through the Solana venue against the in-process Solana stand-in.

Run with ``make bench``. Prints:

- swaps per second through ``SolanaVenue.submit`` (one account, one swap at a time, then
  ``--accounts`` accounts swapping at once), with the venue's confirmation waits moving the
  chain on a slot instead of sleeping;
- what Rampart adds per swap on the client side: quote (both routes) → swap transaction →
  signed → sent, p50/p99, and the signing alone; the stand-in's confirmation is excluded (the
  stand-in runs in this process, so its HTTP handling is in the figure);
- confirmation latency (sent → confirmed, wall time) p50/p95/p99 with the stand-in's slots at
  400 ms (mainnet's pace) and at 50 ms, each swap sent at a random point of a slot: by polling
  ``getSignatureStatuses`` (every 100 ms, the default, and every 5 ms) and by
  ``signatureSubscribe`` over the RPC websocket (``ws_urls``), with the RPC calls each costs.
  The stand-in lands a transaction at the slot after it is sent and confirms it a slot later,
  so no client can beat "the rest of this slot + one slot" (p95 ≈ 780 ms at 400 ms slots).

Asserts nothing; bounded to well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from solders.keypair import Keypair

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import percentile, quiet_logs
from rampart.clock import SimClock
from rampart.domain.orders import Order, OrderRole, OrderType, Side, client_order_id
from rampart.venues.solana.settings import SolanaConfig
from rampart.venues.solana.signing import Wallet
from rampart.venues.solana.venue import SolanaVenue
from rampart_testkit.solana_sim import SolanaSimHandle, start_solana_sim

SYMBOL = "SOL/USDC"
QTY = Decimal("0.05")


class Times:
    """Per-swap timings taken by wrapping the venue's quote, signing and send steps."""

    def __init__(self) -> None:
        self.client: list[float] = []
        self.signing: list[float] = []
        self.confirm: list[float] = []
        self._quote_started: dict[int, float] = {}


def _order(account: str, seq: int) -> Order:
    return Order(
        client_id=client_order_id(account, seq, OrderRole.ENTRY),
        account_id=account,
        symbol=SYMBOL,
        side=Side.BUY if seq % 2 else Side.SELL,
        type=OrderType.MARKET,
        qty=QTY,
        role=OrderRole.ENTRY,
    )


def _config(sim: SolanaSimHandle, ws: bool = False, poll_s: float = 0.005) -> SolanaConfig:
    markets = SolanaConfig().markets
    return SolanaConfig.model_validate(
        {
            "markets": {SYMBOL: markets[SYMBOL].model_dump()},
            "rpc_urls": [sim.rpc_url("a"), sim.rpc_url("b")],
            "jupiter_url": sim.jupiter_url,
            "jupiter_api_key": sim.jupiter_api_key,
            "bags_url": sim.bags_url,
            "bags_api_key": sim.api_key,
            "confirm_poll_s": poll_s,
            "confirm_timeout_s": 30,
            "ws_urls": [sim.ws_url("a")] if ws else [],
        }
    )


class _Observer:
    def __init__(self, times: Times) -> None:
        self.times = times

    def swap(self, route: str, outcome: str, seconds: float) -> None:
        if outcome == "filled":
            self.times.confirm.append(seconds)

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def _timed(venue: SolanaVenue, times: Times) -> None:
    """Time quote → signed → sent for each attempt (the venue's own steps, wrapped)."""
    quote, send = venue._choose, venue.rpc.send_transaction
    started: dict[int, float] = {}

    async def timed_quote(s: Any) -> Any:
        started[id(asyncio.current_task())] = time.perf_counter()
        return await quote(s)

    async def timed_send(tx: str) -> str:
        try:
            return await send(tx)
        finally:
            begun = started.pop(id(asyncio.current_task()), None)
            if begun is not None:
                times.client.append(time.perf_counter() - begun)

    venue._choose = timed_quote  # type: ignore[method-assign]
    venue.rpc.send_transaction = timed_send  # type: ignore[method-assign]
    # Wallet has slots: its signing is timed on the class (this process only).
    sign = Wallet.__dict__.get("_bench_sign", Wallet.sign)
    Wallet._bench_sign = sign  # type: ignore[attr-defined]

    def timed_sign(self: Wallet, tx: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return sign(self, tx)
        finally:
            times.signing.append(time.perf_counter() - t0)

    Wallet.sign = timed_sign  # type: ignore[method-assign]


async def _venue(
    sim: SolanaSimHandle,
    http: httpx.AsyncClient,
    accounts: list[str],
    times: Times,
    sleep: Callable[[float], Awaitable[None]] | None,
    ws: bool = False,
    poll_s: float = 0.005,
) -> SolanaVenue:
    keys = {}
    for account in accounts:
        kp = Keypair()
        sim.fund(str(kp.pubkey()), lamports=10**12, tokens={"USDC": 10**13, "SOL": 10**12})
        keys[account] = str(kp)
    venue = SolanaVenue(
        _config(sim, ws, poll_s),
        clock=SimClock(1_700_000_000_000),
        observer=_Observer(times),  # type: ignore[arg-type]
        http=http,
        keypairs=keys,
        sleep=sleep or asyncio.sleep,
    )
    await venue.load([SYMBOL])
    _timed(venue, times)
    return venue


def _chain_sleep(sim: SolanaSimHandle) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        del seconds
        await sim.advance(1)
        await asyncio.sleep(0)

    return sleep


async def throughput(swaps: int, accounts: int) -> None:
    async with start_solana_sim(slot_ms=5) as sim, httpx.AsyncClient() as http:
        times = Times()
        venue = await _venue(sim, http, ["a0"], times, _chain_sleep(sim))
        await venue.submit(_order("a0", 0))  # warm the connections
        times.client.clear()
        times.signing.clear()
        t0 = time.perf_counter()
        for seq in range(1, swaps + 1):
            await venue.submit(_order("a0", seq))
        sequential = time.perf_counter() - t0
        print(f"solana swaps, sequential: {swaps / sequential:8.1f} swaps/s ({swaps} swaps)")
        client = [t * 1000 for t in times.client]
        sign = [t * 1000 for t in times.signing]
        print(
            f"  client side quote→signed→sent: p50 {percentile(client, 50):.2f} ms, "
            f"p99 {percentile(client, 99):.2f} ms (n={len(client)}); signing alone p50 "
            f"{percentile(sign, 50) * 1000:.0f} µs, p99 {percentile(sign, 99) * 1000:.0f} µs"
        )
        names = [f"c{i}" for i in range(accounts)]
        many = await _venue(sim, http, names, Times(), _chain_sleep(sim))
        per = max(1, swaps // accounts)

        async def run(account: str) -> None:
            for seq in range(1, per + 1):
                await many.submit(_order(account, seq))

        t0 = time.perf_counter()
        await asyncio.gather(*(run(a) for a in names))
        together = time.perf_counter() - t0
        total = per * accounts
        print(
            f"solana swaps, {accounts} accounts at once: {total / together:8.1f} swaps/s "
            f"({total} swaps)"
        )
        landed = sum(1 for t in sim.state()["transactions"] if t["err"] is None)
        print(f"  landed cleanly on the stand-in: {landed}")


async def confirmation(slot_ms: int, swaps: int, ws: bool, poll_s: float) -> None:
    async with start_solana_sim(slot_ms=slot_ms) as sim, httpx.AsyncClient() as http:
        times = Times()
        venue = await _venue(sim, http, ["a0"], times, None, ws, poll_s)
        phase = random.Random(slot_ms)
        for seq in range(swaps):
            # Orders come at any point of a slot, not just after the last one confirmed (which
            # is at a slot's start): each swap is sent at a random point of one.
            await asyncio.sleep(phase.uniform(0, slot_ms / 1000))
            await venue.submit(_order("a0", seq))
        await venue.aclose()
        ms = [t * 1000 for t in times.confirm]
        how = "signatureSubscribe" if ws else f"polling every {poll_s * 1000:g} ms"
        polls = sim.state()["requests"]
        print(
            f"confirmation at slot_ms {slot_ms:>3}, {how:>22}: p50 {percentile(ms, 50):7.1f} ms, "
            f"p95 {percentile(ms, 95):7.1f} ms, p99 {percentile(ms, 99):7.1f} ms (n={len(ms)}); "
            f"RPC calls {(polls.get('a', 0) + polls.get('b', 0)) / max(1, swaps):.0f} "
            "a swap"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=300)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--confirm-swaps", type=int, default=20)
    args = parser.parse_args()
    quiet_logs()
    started = time.perf_counter()
    await throughput(args.swaps, args.accounts)
    for ws, poll_s in ((False, 0.1), (False, 0.005), (True, 0.1)):
        await confirmation(400, args.confirm_swaps, ws, poll_s)
    await confirmation(50, args.confirm_swaps * 3, False, 0.005)
    await confirmation(50, args.confirm_swaps * 3, True, 0.1)
    print(f"bench/solana.py took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
