"""``rampart solana-sim``: serve the local Solana stand-in (RPC nodes, Jupiter, bags) on
127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from rampart.cli.common import friendly
from rampart.domain.errors import RampartError

console = Console(soft_wrap=True)
err = Console(stderr=True)


def parse_depths(items: list[str]) -> dict[str, Decimal]:
    """``["jupiter=1000000"]`` → ``{"jupiter": Decimal(1000000)}`` (quote tokens a side)."""
    from rampart.wiring.venue_kinds import route_names

    routes = route_names()
    out: dict[str, Decimal] = {}
    for item in items:
        route, sep, amount = item.partition("=")
        route = route.strip().lower()
        if not sep or route not in routes:
            raise RampartError(f"A depth looks like jupiter=1000000 or bags=5000000; got {item!r}.")
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            raise RampartError(f"The depth in {item!r} is not a number.") from None
        if not value.is_finite() or value <= 0:
            raise RampartError(f"The depth in {item!r} must be a positive number.")
        out[route] = value
    return out


def check_pubkey(text: str) -> str:
    from solders.pubkey import Pubkey

    try:
        return str(Pubkey.from_string(text.strip()))
    except ValueError:
        raise RampartError(f"{text!r} is not a Solana public key (base58).") from None


async def _serve(
    port: int,
    slot_ms: int,
    markets: dict[str, Decimal],
    depth: dict[str, Decimal],
    bags_fee_bps: int,
    api_key: str | None,
    jupiter_api_key: str | None,
    fund: list[str],
) -> None:
    from rampart_testkit.solana_sim import start_solana_sim

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with start_solana_sim(
        markets=markets or None,
        slot_ms=slot_ms,
        depth=depth or None,
        bags_fee_bps=bags_fee_bps,
        api_key=api_key,
        jupiter_api_key=jupiter_api_key,
        port=port,
    ) as sim:
        for pubkey in fund:
            sim.fund(pubkey, lamports=10**9, tokens={"SOL": 10 * 10**9, "USDC": 10_000 * 10**6})
        console.print(
            f"Solana stand-in listening on [bold]{sim.url}[/] (admin under {sim.url}/sim/)"
        )
        console.print(f"RPC node a: {sim.rpc_url('a')}", highlight=False)
        console.print(f"RPC node b: {sim.rpc_url('b')}", highlight=False)
        console.print(f"RPC websocket (ws_urls): {sim.ws_url('a')}", highlight=False)
        console.print(f"Jupiter:    {sim.jupiter_url}", highlight=False)
        console.print(f"Bags:       {sim.bags_url}", highlight=False)
        console.print(f"Jupiter API key: {sim.jupiter_api_key}", highlight=False)
        console.print(f"Bags API key: {sim.api_key}", highlight=False)
        console.print(f"bags.fm fee account: {sim.fee_account}", highlight=False)
        for symbol, market in sim.chain.markets.items():
            console.print(
                f"{symbol}: {market.price} (base mint {market.base.address}, "
                f"quote mint {market.quote.address})",
                highlight=False,
            )
        for pubkey in fund:
            console.print(f"funded {pubkey}: 1 SOL of gas, 10 SOL, 10000 USDC", highlight=False)
        pace = f"a slot every {slot_ms} ms" if slot_ms > 0 else "slots only on POST /sim/advance"
        console.print(f"{pace}; Ctrl-C stops.")
        # Whoever reads this through a pipe (a script, a test) needs the URLs now.
        console.file.flush()
        await stop.wait()
    console.print("Solana stand-in stopped.")


@friendly
def solana_sim(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free port).")] = 8899,
    slot_ms: Annotated[
        int, typer.Option(help="Milliseconds per slot (0: slots move only on /sim/advance).")
    ] = 400,
    market: Annotated[
        list[str] | None,
        typer.Option(help="A market and its price, e.g. SOL/USDC=150 (repeat for more)."),
    ] = None,
    depth: Annotated[
        list[str] | None,
        typer.Option(help="Pool depth of a route in quote tokens a side, e.g. bags=5000000."),
    ] = None,
    bags_fee_bps: Annotated[int, typer.Option(help="Bags' platform fee in basis points.")] = 100,
    api_key: Annotated[
        str | None, typer.Option(help="Bags API key to accept (default: a new random one).")
    ] = None,
    jupiter_api_key: Annotated[
        str | None, typer.Option(help="Jupiter API key to accept (default: a new random one).")
    ] = None,
    fund: Annotated[
        list[str] | None,
        typer.Option(help="Wallet public key to fund with 1 SOL of gas, 10 SOL, 10000 USDC."),
    ] = None,
) -> None:
    """Serve a local Solana stand-in: RPC nodes, Jupiter and bags swap APIs on simulated pools."""
    from rampart_testkit.solana_sim.markets import parse_market

    try:
        if not 0 <= port <= 65535:
            raise RampartError("--port must be between 0 and 65535.")
        if slot_ms < 0:
            raise RampartError("--slot-ms must be zero or a positive number of milliseconds.")
        if not 0 <= bags_fee_bps < 10_000:
            raise RampartError("--bags-fee-bps must be between 0 and 9999.")
        markets = dict(parse_market(m) for m in market or [])
        depths = parse_depths(depth or [])
        wallets = [check_pubkey(p) for p in fund or []]
        asyncio.run(
            _serve(
                port,
                slot_ms,
                markets,
                depths,
                bags_fee_bps,
                api_key,
                jupiter_api_key,
                wallets,
            )
        )
    except RampartError as exc:
        err.print(Text.assemble(("Error: ", "bold red"), exc.message), highlight=False)
        raise typer.Exit(2) from None
    except ValueError as exc:  # a pool that cannot exist at that price (PoolError)
        err.print(
            Text.assemble(("Error: ", "bold red"), f"The Solana stand-in cannot start: {exc}."),
            highlight=False,
        )
        raise typer.Exit(2) from None
    except OSError as exc:
        # aiohttp wraps the socket's error in a long sentence; the errno says it plainly
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        err.print(
            Text.assemble(
                ("Error: ", "bold red"),
                f"The Solana stand-in cannot listen on port {port}: {reason.lower()}.",
            ),
            highlight=False,
        )
        raise typer.Exit(2) from None
