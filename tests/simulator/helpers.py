"""Running a test body against a fresh simulator with the real ccxt binance client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rampart_testkit.simulator import SimulatorHandle, ccxt_client, start_simulator

Body = Callable[[SimulatorHandle, Any], Awaitable[None]]


def with_sim(
    body: Body,
    balances: dict[str, str] | None = None,
    symbols: tuple[str, ...] = ("BTC/USDT",),
    **sim_kwargs: Any,
) -> None:
    async def main() -> None:
        async with start_simulator(symbols=symbols, **sim_kwargs) as sim:
            key, secret = sim.create_account(balances or {"USDT": "10000"})
            client = ccxt_client(sim.url, key, secret, enableRateLimit=False, timeout=3000)
            try:
                await client.load_markets()
                await body(sim, client)
            finally:
                await client.close()

    asyncio.run(main())
