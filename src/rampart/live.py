"""``rampart run``: paper trading on the embedded default, with a live terminal view.

The feed is synthetic (or a replay file) played at ``feed.speed`` simulated seconds per wall
second; business time is the simulated clock set to each candle's close. Ctrl-C or SIGTERM
stops after the current candle and saves a checkpoint; the next run resumes from it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.live import Live

from rampart.app import TradingSession, instruments_for, validate_accounts
from rampart.clock import SimClock, WallClock
from rampart.config import Settings
from rampart.domain.candles import Candle, timeframe_ms
from rampart.domain.errors import ConfigError
from rampart.market.loaders import load_candles
from rampart.market.synthetic import SyntheticFeed
from rampart.tui import render, status_line

VIEW_REFRESH_S = 0.25


def _feed(settings: Settings) -> tuple[Iterator[Candle], dict[str, float] | None, list[str]]:
    feed = settings.feed
    if feed.kind == "replay":
        if feed.path is None:
            raise ConfigError("Setting 'feed.path' is required when 'feed.kind' is replay.")
        series = load_candles(feed.path).series
        return series.iter_candles(), {series.symbol: series.typical_price()}, [series.symbol]
    synthetic = SyntheticFeed(feed.symbols, seed=feed.seed, timeframe=feed.timeframe)
    return synthetic.iter_candles(), None, list(feed.symbols)


async def run_paper(
    settings: Settings,
    console: Console,
    max_candles: int | None = None,
    view: bool | None = None,
) -> TradingSession:
    validate_accounts(settings)
    candles, typical, symbols = _feed(settings)
    wanted = {s for a in settings.accounts for s in a.symbols}
    missing = wanted - set(symbols)
    if missing:
        raise ConfigError(
            "Accounts trade " + ", ".join(sorted(missing)) + " but the feed does not carry it; "
            "add it to 'feed.symbols'."
        )
    if settings.store.url.startswith("sqlite:///"):
        Path(settings.store.url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )
    clock = SimClock(0)
    session = TradingSession(
        settings,
        clock,
        instruments_for(symbols, typical),
        db_url=settings.store.url,
        checkpoint_name="run",
        accounts=list(settings.accounts),
        checkpoint_every=settings.store.checkpoint_every,
    )
    cursor = await session.open()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    show = console.is_terminal if view is None else view
    pace = WallClock()
    step_s = timeframe_ms(settings.feed.timeframe) / 1000 / settings.feed.speed
    if cursor:
        console.print(f"Resuming after {cursor:,} candles from {settings.store.url}.")
    processed = 0
    last_ts = None
    live = Live(console=console, auto_refresh=False, transient=False) if show else None
    last_view = 0.0
    try:
        if live is not None:
            live.start()
        for index, candle in enumerate(candles):
            if index < cursor:
                session.warm(candle)
                continue
            if index == cursor:
                session.finish_resume()
            if stop.is_set():
                break
            if last_ts is not None and candle.ts != last_ts:
                await pace.sleep(step_s)
            last_ts = candle.ts
            clock.set(candle.close_ts)
            await session.process(candle)
            processed += 1
            wall = loop.time()
            if wall - last_view >= VIEW_REFRESH_S:
                last_view = wall
                if live is not None:
                    live.update(render(session.engine, "Rampart · paper"), refresh=True)
                elif processed % 200 == 0:
                    console.print(status_line(session.engine))
            if max_candles is not None and processed >= max_candles:
                break
    finally:
        if live is not None:
            live.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        session.close()
    console.print(status_line(session.engine))
    console.print(
        f"Stopped cleanly after {processed:,} candles; state saved to {settings.store.url}. "
        "Run again to resume."
    )
    return session
