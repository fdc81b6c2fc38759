"""``rampart simulator``: serve the Binance-compatible exchange simulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from rampart.cli.common import friendly
from rampart.clock import datetime_to_ms, ms_to_datetime
from rampart.domain.candles import timeframe_ms
from rampart.domain.errors import RampartError

console = Console(soft_wrap=True)
err = Console(stderr=True)
DEFAULT_KEEP = 5000
"""The simulator's default memory of finished orders and trades per account."""
DEFAULT_SPEED = 60.0
"""Simulated seconds per wall second of a market with a fixed start: an hour a minute."""
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


def check_timeframe(timeframe: str) -> int:
    try:
        return timeframe_ms(timeframe)
    except ValueError as exc:
        raise RampartError(f"The simulator cannot use the timeframe: {exc}.") from None


def parse_start(text: str, timeframe: str) -> int:
    """``2024-01-01`` or ``2024-01-01T12:00`` (UTC unless an offset is given) → the open time
    in milliseconds of the first candle, on the timeframe's grid."""
    tf = check_timeframe(timeframe)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RampartError(
            f"--start is a UTC date or time like 2024-01-01 or 2024-01-01T12:00; got {text!r}."
        ) from None
    return datetime_to_ms(when) // tf * tf


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


async def _serve(
    symbols: list[str],
    data: list[Path],
    seed: int,
    timeframe: str,
    port: int,
    speed: float | None,
    start_ms: int | None,
    accounts: int,
    balances: dict[str, Decimal],
    request_limit: int | None,
    bnb_fees: bool = False,
    keep: int = DEFAULT_KEEP,
) -> None:
    """Serve until SIGINT or SIGTERM. A synthetic market without ``start_ms`` is on the wall
    clock: it follows it when ``speed`` is None, or stays where it started when it is 0."""
    from rampart_testkit.simulator.runner import build_exchange, serve, wall_start_ms
    from rampart_testkit.simulator.tape import DEFAULT_HISTORY

    on_wall = start_ms is None and not data
    if on_wall:
        # A client on the wall clock (rampart run on an exchange) warms up on the candles
        # before its now and then takes each one as it closes: start the tape a full history
        # back and release all of it that has closed by now.
        start_ms = wall_start_ms(timeframe_ms(timeframe), DEFAULT_HISTORY, _wall_ms())
    exchange = build_exchange(
        symbols=symbols,
        data=data or None,
        seed=seed,
        timeframe=timeframe,
        start_ms=start_ms,
        history=keep,
    )
    if on_wall:
        exchange.advance_until(_wall_ms())
    if bnb_fees:
        exchange.check_bnb_fees()  # before listening: a refusal is one sentence, nothing served
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(exchange, port=port, request_limit=request_limit) as sim:
        console.print(
            f"Simulator listening on [bold]{sim.url}[/] (admin under {sim.url}/sim/)",
            soft_wrap=True,
        )
        market = ms_to_datetime(exchange.now_ms).strftime("%Y-%m-%d %H:%M UTC")
        console.print(f"Symbols: {', '.join(exchange.tape.symbols)}; market time {market}")
        for _ in range(accounts):
            acct = exchange.create_account(balances, bnb_fees=bnb_fees)
            # The simulator's own throw-away credentials, shown once so a client can use them.
            console.print(
                f"account {acct.account_id}: api key {acct.key} secret {acct.secret}",
                highlight=False,
                soft_wrap=True,  # never wrapped: it is copied and pasted
            )
        if speed is None:
            console.print(
                "Market time follows the wall clock, a candle as each one closes; Ctrl-C stops."
            )
        elif speed > 0:
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
            if speed is None:
                exchange.advance_until(_wall_ms())
            elif speed > 0:
                owed += (now - last) * speed * 1000
                candles = int(owed // step_ms)
                if candles:
                    owed -= candles * step_ms
                    if exchange.advance(candles) < candles and exchange.tape.exhausted:
                        console.print("The market data has run out; the simulator stays up.")
                        speed = 0
            last = now
    console.print("Simulator stopped.")


@friendly
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
        float | None,
        typer.Option(
            help="Simulated seconds per wall second of a market with --start or --data "
            "(default 60; 0: only on command). Without those the market follows the wall "
            "clock, and only 0 (frozen where it starts) or 1 may be given."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Start the synthetic market at this UTC date or time (2024-01-01, "
            "2024-01-01T12:00) and move it at --speed. By default it follows the wall clock, "
            "its recent history already closed."
        ),
    ] = None,
    accounts: Annotated[int, typer.Option(help="API accounts to create at start.")] = 1,
    balance: Annotated[
        list[str] | None, typer.Option(help="Starting balance per account, e.g. 10000USDT.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic feed.")] = 7,
    timeframe: Annotated[str, typer.Option(help="Candle timeframe of the synthetic feed.")] = "1m",
    request_limit: Annotated[
        int | None,
        typer.Option(
            help="Request weight per minute per address (Binance's weights) before HTTP 429, "
            "then 418 for an address that keeps sending; published in exchangeInfo "
            "(default: Binance's 6000, counted and reported, not enforced)."
        ),
    ] = None,
    bnb_fees: Annotated[
        bool,
        typer.Option(
            help="The accounts created at start pay commissions in BNB (needs a BNB/<quote> "
            "market among the symbols); otherwise, as on Binance, a buy pays from the base "
            "asset received and a sell from the quote."
        ),
    ] = False,
    keep: Annotated[
        int,
        typer.Option(
            help="Finished orders and trades remembered per account (a day-long run that reads "
            "its whole history back at the end needs more than the default).",
            min=2,
            max=10_000_000,
        ),
    ] = DEFAULT_KEEP,
) -> None:
    """Serve a Binance-compatible spot exchange simulator on 127.0.0.1 for ccxt clients."""
    try:
        speed, start_ms = _pace(speed, start, bool(data), timeframe)
        _check_numbers(accounts, request_limit, port)
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
                start_ms,
                accounts,
                balances,
                request_limit,
                bnb_fees,
                keep,
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


def _pace(
    speed: float | None, start: str | None, has_data: bool, timeframe: str
) -> tuple[float | None, int | None]:
    """(``--speed``, ``--start`` in ms) as the market runs them: a market with a start or a
    candle file moves at ``speed`` (60 by default); one that follows the wall clock only at
    its pace (``None``) or frozen (0). A combination that cannot work is refused."""
    if speed is not None and speed < 0:
        raise RampartError("--speed must be zero or a positive number.")
    if start is not None and has_data:
        raise RampartError("--start is for the synthetic market; a candle file has its own dates.")
    check_timeframe(timeframe)
    follows_wall = start is None and not has_data
    if follows_wall and speed == 1:
        speed = None  # the wall clock's own pace, kept on its candle boundaries
    if follows_wall and speed not in (None, 0):
        # rampart run on an exchange takes a candle only once it has closed on the wall
        # clock, so a market running ahead would fill its orders at prices from its future.
        raise RampartError(
            "--speed needs --start: without a start date the market follows the wall "
            "clock, as an exchange's does, because rampart run takes a candle only once "
            "it has closed by its own clock."
        )
    start_ms = None if start is None else parse_start(start, timeframe)
    if not follows_wall and speed is None:
        speed = DEFAULT_SPEED
    return speed, start_ms


def _check_numbers(accounts: int, request_limit: int | None, port: int) -> None:
    if accounts < 0:
        raise RampartError("--accounts must be zero or more.")
    if request_limit is not None and request_limit < 1:
        raise RampartError("--request-limit must be at least 1.")
    if not 0 <= port <= 65535:
        raise RampartError("--port must be between 0 and 65535.")
