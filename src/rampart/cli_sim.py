"""``rampart simulator``: serve the Binance-compatible exchange simulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from rampart.domain.errors import RampartError

console = Console(soft_wrap=True)
err = Console(stderr=True)
_AMOUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z][A-Za-z0-9]*)\s*$")


def parse_balances(items: list[str]) -> dict[str, Decimal]:
    """``["10000USDT", "0.5BTC"]`` → ``{"USDT": 10000, "BTC": 0.5}``."""
    out: dict[str, Decimal] = {}
    for item in items:
        match = _AMOUNT.match(item)
        if match is None:
            raise RampartError(f"A balance looks like 10000USDT or 0.5BTC; got {item!r}.")
        try:
            amount = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            raise RampartError(f"The amount in {item!r} is not a number.") from None
        asset = match.group(2).upper()
        out[asset] = out.get(asset, Decimal(0)) + amount
    return out


async def _serve(
    symbols: list[str],
    data: list[Path],
    seed: int,
    timeframe: str,
    port: int,
    speed: float,
    accounts: int,
    balances: dict[str, Decimal],
    request_limit: int | None,
) -> None:
    from rampart.simulator.runner import build_exchange, serve

    exchange = build_exchange(symbols=symbols, data=data or None, seed=seed, timeframe=timeframe)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(exchange, port=port, request_limit=request_limit) as sim:
        console.print(
            f"Simulator listening on [bold]{sim.url}[/] (admin under {sim.url}/sim/)",
            soft_wrap=True,
        )
        console.print(
            f"Symbols: {', '.join(exchange.tape.symbols)}; market time {sim.exchange.now_ms}"
        )
        for _ in range(accounts):
            acct = exchange.create_account(balances)
            # The simulator's own throw-away credentials, shown once so a client can use them.
            console.print(
                f"account {acct.account_id}: api key {acct.key} secret {acct.secret}",
                highlight=False,
                soft_wrap=True,  # never wrapped: it is copied and pasted
            )
        if speed > 0:
            console.print(f"Advancing {speed:g} simulated seconds per second; Ctrl-C stops.")
        else:
            console.print("Market time moves only on POST /sim/advance; Ctrl-C stops.")
        # Whoever reads this through a pipe (a script, a test) needs the URL and keys now.
        console.file.flush()
        step_ms = exchange.tape.timeframe_ms
        owed = 0.0
        last = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.1)
            now = time.monotonic()
            if speed > 0:
                owed += (now - last) * speed * 1000
                candles = int(owed // step_ms)
                if candles:
                    owed -= candles * step_ms
                    if exchange.advance(candles) < candles and exchange.tape.exhausted:
                        console.print("The market data has run out; the simulator stays up.")
                        speed = 0
            last = now
    console.print("Simulator stopped.")


def simulator(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free port).")] = 8900,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Candle file to serve (repeat for more symbols)."),
    ] = None,
    synthetic: Annotated[
        str, typer.Option(help="Comma-separated symbols for the synthetic feed.")
    ] = "BTC/USDT,ETH/USDT",
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per wall second (0: only on command).")
    ] = 60.0,
    accounts: Annotated[int, typer.Option(help="API accounts to create at start.")] = 1,
    balance: Annotated[
        list[str] | None, typer.Option(help="Starting balance per account, e.g. 10000USDT.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic feed.")] = 7,
    timeframe: Annotated[str, typer.Option(help="Candle timeframe of the synthetic feed.")] = "1m",
    request_limit: Annotated[
        int | None, typer.Option(help="Requests per minute before HTTP 429 (default: no limit).")
    ] = None,
) -> None:
    """Serve a Binance-compatible spot exchange simulator on 127.0.0.1 for ccxt clients."""
    try:
        if speed < 0:
            raise RampartError("--speed must be zero or a positive number.")
        if accounts < 0:
            raise RampartError("--accounts must be zero or more.")
        if request_limit is not None and request_limit < 1:
            raise RampartError("--request-limit must be at least 1.")
        if not 0 <= port <= 65535:
            raise RampartError("--port must be between 0 and 65535.")
        symbols = [s.strip() for s in synthetic.split(",") if s.strip()]
        balances = parse_balances(balance or ["10000USDT"])
        asyncio.run(
            _serve(
                symbols,
                list(data or []),
                seed,
                timeframe,
                port,
                speed,
                accounts,
                balances,
                request_limit,
            )
        )
    except RampartError as exc:
        err.print(Text.assemble(("Error: ", "bold red"), exc.message), highlight=False)
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(
            Text.assemble(("Error: ", "bold red"), f"The simulator cannot listen: {exc.strerror}."),
            highlight=False,
        )
        raise typer.Exit(2) from None
