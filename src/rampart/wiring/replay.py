"""``rampart replay``: trade one agent on a candle file and report how it did."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import make_url

from rampart.agents.registry import make_agent
from rampart.clock import SimClock
from rampart.config import AccountConfig, Settings
from rampart.domain.errors import ConfigError
from rampart.domain.events import Event, TradeClosed
from rampart.domain.instruments import Instrument
from rampart.domain.positions import ClosedTrade
from rampart.market.loaders import load_candles
from rampart.reports.summary import (
    OpenPosition,
    Summary,
    plot_equity,
    summarize,
    write_equity_csv,
    write_trades_csv,
)
from rampart.risk.profiles import get_profile
from rampart.store.queries import equity_history, trades_as_closed
from rampart.wiring.session import TradingSession

MAX_CURVE_POINTS = 20_000
CRASH_ENV = "RAMPART_FAULT_KILL_AT_CANDLE"
"""Fault injection for crash tests: SIGKILL this process after that many candles."""
TERM_ENV = "RAMPART_FAULT_TERM_AT_CANDLE"
"""Fault injection for shutdown tests: send this process SIGTERM after that many candles."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    summary: Summary
    out_dir: Path
    trades_csv: Path
    equity_csv: Path
    equity_png: Path
    candles: int
    resumed_from: int
    seconds: float
    repairs: tuple[str, ...]
    symbol: str
    violations: int
    interrupted: str | None = None
    """Set when SIGTERM or SIGINT stopped the replay early: the sentence saying so."""


Progress = Callable[[int, int], None]


@contextmanager
def _stop_signals() -> Iterator[list[str]]:
    """Note SIGTERM/SIGINT instead of dying; the loop stops after the candle in hand.

    Plain ``signal.signal`` handlers, not the event loop's: the replay loop rarely yields to
    the loop, and a Python-level handler runs between two bytecodes wherever it is.
    """
    received: list[str] = []

    def handler(signum: int, frame: object) -> None:
        del frame
        if not received:
            received.append(signal.Signals(signum).name)

    previous: dict[signal.Signals, object] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(ValueError):  # not the main thread: signals stay with their owner
            previous[sig] = signal.signal(sig, handler)
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]


def _sqlite_path(db_url: str) -> Path | None:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database)
    return None


async def run_replay(
    data: Path,
    agent: str,
    profile: str,
    capital: Decimal,
    settings: Settings,
    out_dir: Path | None = None,
    db_url: str | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> ReplayResult:
    if capital <= 0:
        raise ConfigError(f"Capital must be a positive amount; got {capital}.")
    make_agent(agent, None)
    get_profile(profile, settings.profiles or None)
    loaded = load_candles(data)
    series = loaded.series
    symbol = series.symbol
    out_dir = out_dir or Path("out") / f"replay-{data.stem}-{agent}-{profile}"
    out_dir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{out_dir / 'replay.db'}"
    sqlite_file = _sqlite_path(db_url)
    if not resume and sqlite_file is not None and sqlite_file.exists():
        sqlite_file.unlink()
        for suffix in ("-wal", "-shm"):
            Path(str(sqlite_file) + suffix).unlink(missing_ok=True)

    clock = SimClock(0)
    account = AccountConfig(
        id=f"replay-{agent}",
        agent=agent,
        profile=profile,
        capital=capital,
        symbols=[symbol],
        owner="replay",
    )
    instrument = Instrument.for_price(symbol, series.typical_price())
    session = TradingSession(
        settings,
        clock,
        {symbol: instrument},
        db_url=db_url,
        checkpoint_name="replay",
        accounts=[account],
        checkpoint_every=settings.store.replay_checkpoint_every,
        ride_out_outages=False,
    )
    trades: list[ClosedTrade] = []

    def collect(event: Event) -> None:
        if isinstance(event, TradeClosed):
            trades.append(event.trade)

    started = time.perf_counter()
    cursor = await session.open()
    if cursor and not resume:
        session.close()
        raise ConfigError(
            "That database already holds a replay; pass --resume to continue it "
            "or point --db at an empty database."
        )
    session.bus.subscribe(collect)
    curve: list[tuple[int, float]] = []
    if cursor:
        trades.extend(trades_as_closed(session.db, account.id))
        curve.extend((ts, float(eq)) for ts, eq in equity_history(session.db, account.id))
    total = len(series)
    stride = max(1, total // MAX_CURVE_POINTS)
    crash_at = int(os.environ.get(CRASH_ENV, "0") or 0)
    term_at = int(os.environ.get(TERM_ENV, "0") or 0)
    engine = session.engine
    stopped_at = 0
    with _stop_signals() as received:
        try:
            for index, candle in enumerate(series.iter_candles()):
                if index < cursor:
                    session.warm(candle)
                    continue
                if index == cursor:
                    session.finish_resume()
                clock.set(candle.close_ts)
                await session.process(candle)
                if index % stride == 0:
                    curve.append((candle.close_ts, float(engine.equity(account.id))))
                if progress is not None and index % 500 == 0:
                    progress(index + 1, total)
                if crash_at and index + 1 == crash_at:
                    os.kill(os.getpid(), signal.SIGKILL)
                if term_at and index + 1 == term_at:
                    os.kill(os.getpid(), signal.SIGTERM)
                # Checked only once resumed: stopping while warming would checkpoint a
                # fresh engine over the saved one.
                if received:
                    stopped_at = index + 1
                    break
            if not stopped_at:
                session.finish_resume()
                # Only a replay that reached the end of its data closes its positions; a stopped
                # one keeps them so that --resume continues exactly where it left off.
                await engine.controls.flatten_all("end of data")
            final = engine.equity(account.id)
            curve.append((clock.now_ms(), float(final)))
            if progress is not None:
                progress(stopped_at or total, total)
            ledger = engine.accounts[account.id].ledger
            fees = ledger.fees_paid
            # What the end-of-data exit could not sell (a thin last candle under the venue's
            # volume cap, or dust) stays open: reported, and valued at the last mark.
            open_positions = [
                OpenPosition.of(pos, engine.marks.get(sym, pos.avg_price))
                for sym, pos in sorted(ledger.positions.items())
            ]
        finally:
            session.close()  # writes every buffered row and a checkpoint in one transaction

    interrupted = None
    if stopped_at:
        where = make_url(db_url).render_as_string(hide_password=True)
        interrupted = (
            f"Stopped on {received[0]} after {stopped_at:,} of {total:,} candles; progress "
            f"saved to {where}. Run the same command with --resume to continue."
        )
    summary = summarize(trades, (v for _, v in curve), capital, final, fees, open_positions)
    trades_csv = out_dir / "trades.csv"
    equity_csv = out_dir / "equity.csv"
    equity_png = out_dir / "equity.png"
    if interrupted is None:  # a stopped replay exits fast; the resumed one writes these
        write_trades_csv(trades, trades_csv)
        write_equity_csv(curve, equity_csv)
        plot_equity(curve, equity_png, f"{symbol} · {agent} · {profile}")
    return ReplayResult(
        summary=summary,
        out_dir=out_dir,
        trades_csv=trades_csv,
        equity_csv=equity_csv,
        equity_png=equity_png,
        candles=total,
        resumed_from=cursor,
        seconds=time.perf_counter() - started,
        repairs=tuple(loaded.repairs),
        symbol=symbol,
        violations=engine.violations,
        interrupted=interrupted,
    )
