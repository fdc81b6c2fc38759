"""``rampart replay``: trade one agent on candle files and report how it did.

One run may replay several files: they share one process and one database (its fixed cost,
imports, settings and schema, is paid once) and each file is traded by its own account
(``replay-<agent>-<file>``) in its own session, one file after the other. Each file's figures
are therefore exactly those of replaying that file alone: files may be priced in different
currencies and cover different periods, which one portfolio account could not hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from rampart.agents.decision_times import DecisionTimes
from rampart.agents.plugins import agent_label
from rampart.agents.registry import agent_space, make_agent
from rampart.clock import SimClock
from rampart.config import AccountConfig, Settings
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.events import Event, TradeClosed
from rampart.domain.instruments import Instrument
from rampart.market.loaders import OpenedCandles, open_candles
from rampart.market.naming import stem_of
from rampart.market.series import CandleSeries
from rampart.market.stream import StreamedSeries
from rampart.reports.summary import (
    Summary,
    TradeLog,
    chart_failure,
    summarize,
    write_equity_csv,
)
from rampart.risk.profiles import get_profile
from rampart.store.queries import equity_history, trades_as_closed
from rampart.trading.bus import Topic
from rampart.trading.shaping import RunShaping
from rampart.venues.paper import PaperVenue
from rampart.wiring.quarantine import GuardOutcome, guard_outcome

# candle_files is the replay's to name (the commands and the benchmarks import it from here).
from rampart.wiring.replay_files import candle_files as candle_files
from rampart.wiring.replay_files import check_names
from rampart.wiring.replay_informative import other_candles
from rampart.wiring.replay_loop import Feeding, feed_candles
from rampart.wiring.replay_plot import PlotTaker
from rampart.wiring.replay_refusals import BracketRefusals
from rampart.wiring.session import TradingSession

MAX_CURVE_POINTS = 20_000
ORDERS_PER_FILE = 1_000_000_000
"""A multi-file run numbers file k's paper orders from k * this (ids P1000000001, …)."""


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
    data: Path | None = None
    """The candle file replayed."""
    chart: bool = True  # whether ``equity_png`` was drawn (``--no-chart`` skips it)
    chart_error: str | None = None  # why it could not be drawn, when it was asked for
    guard: GuardOutcome | None = None
    """What the market-data guard quarantined (None: ``--trust-data``, the guard was off)."""
    decision_times: Mapping[str, DecisionTimes] = field(default_factory=dict)  # wall time
    refused: str = ""
    """The entries the profile refused for their bracket and the profile that takes them, in
    words (replay_refusals); empty when none was."""
    shaped: tuple[str, ...] = ()
    """What shaped the numbers besides the agent's trades: breakers tripped, halts, refused
    entries by reason and count, each with its candle time (rampart.trading.shaping)."""


Progress = Callable[[int, int], None]
FileProgress = Callable[[Path], Progress | None]
"""Given the file about to be replayed, its progress callback (or None)."""


def parse_params(agent: str, pairs: Sequence[str]) -> dict[str, Any]:
    """``NAME=VALUE`` texts as agent parameters, checked against what ``agent`` declares.

    A malformed pair, a name the agent does not declare, a value outside the declared range
    (``rampart.agents.space``) or one the agent itself refuses (``fast`` not shorter than
    ``slow``) raises ConfigError in one sentence naming the parameter and what it accepts.
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"--param takes NAME=VALUE, like fast=8; got {pair!r}.")
        if name in params:
            raise ConfigError(f"--param {name} is given twice.")
        params[name] = value.strip()
    if params:
        # An unknown agent is refused here; so are undeclared names and values out of range.
        params = agent_space(agent).check(agent, params)
    make_agent(agent, params or None)  # the agent's own checks across parameters
    return params


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
    *,
    params: Mapping[str, Any] | None = None,
    chart: bool = True,
) -> ReplayResult:
    """Replay one candle file (account ``replay-<agent>``, output straight in ``out_dir``)."""
    [result] = await run_replays(
        [data],
        agent,
        profile,
        capital,
        settings,
        out_dir,
        db_url,
        resume,
        lambda _path: progress,
        params=params,
        chart=chart,
    )
    return result


async def run_replays(
    files: Sequence[Path],
    agent: str,
    profile: str,
    capital: Decimal,
    settings: Settings,
    out_dir: Path | None = None,
    db_url: str | None = None,
    resume: bool = False,
    progress: FileProgress | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    chart: bool = True,
    informative: Sequence[Path] = (),
) -> list[ReplayResult]:
    """Replay each file with its own account, one after the other, in one database.

    Everything is checked, every file too, before anything is written (a feather file is
    streamed through the checks and read again as it is replayed: see ``open_candles``). One
    file alone keeps the single-file layout (account ``replay-<agent>``, output in
    ``out_dir``); with several, file F's output goes to ``out_dir/F`` and its account is
    ``replay-<agent>-F``.
    A stop signal ends the run within the file in hand, whose result says so (the files after
    it are not started); ``--resume`` continues from there. ``informative``: other symbols'
    files, looked at by an agent that declares them (``replay_informative``), never traded.

    Each file's equity chart is drawn here, in this process, once its replay is over: Pillow
    draws one in a few hundredths of a second, less than a child process to draw it beside
    the replay cost to start.
    """
    if capital <= 0:
        raise ConfigError(f"Capital must be a positive amount; got {capital}.")
    agent_kwargs = dict(params) if params else {}
    make_agent(agent, agent_kwargs or None)
    get_profile(profile, settings.profiles or None)
    check_names(files)
    loaded = [(path, open_candles(path)) for path in files]
    others = tuple(other_candles(informative))
    single = len(loaded) == 1
    if out_dir is None:
        label = agent_label(agent)
        name = f"{loaded[0][0].stem}-{label}" if single else label
        out_dir = Path("out") / f"replay-{name}-{profile}"
    out_dir.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{out_dir / 'replay.db'}"
    sqlite_file = _sqlite_path(db_url)
    if not resume and sqlite_file is not None and sqlite_file.exists():
        sqlite_file.unlink()
        for suffix in ("-wal", "-shm"):
            Path(str(sqlite_file) + suffix).unlink(missing_ok=True)
    results: list[ReplayResult] = []
    for index, (path, load) in enumerate(loaded):
        stem = stem_of(path)
        result = await _replay_file(
            path,
            load,
            _Run(
                agent=agent,
                profile=profile,
                capital=capital,
                settings=settings,
                out_dir=out_dir if single else out_dir / stem,
                db_url=db_url,
                resume=resume,
                account_id=f"replay-{agent_label(agent)}"
                if single
                else f"replay-{agent_label(agent)}-{stem}",
                checkpoint_name="replay" if single else f"replay-{stem}",
                params=agent_kwargs,
                chart=chart,
                first_order=index * ORDERS_PER_FILE,
                others=others,
            ),
            progress(path) if progress is not None else None,
        )
        results.append(result)
        if result.interrupted:
            break
    return results


@dataclass(frozen=True, slots=True)
class _Run:
    """What one file's replay is run with."""

    agent: str
    profile: str
    capital: Decimal
    settings: Settings
    out_dir: Path
    db_url: str
    resume: bool
    account_id: str
    checkpoint_name: str
    params: dict[str, Any]
    chart: bool
    first_order: int
    """Where the paper venue's order numbers start (see ``ORDERS_PER_FILE``)."""
    others: tuple[Candle, ...] = ()


class _TradeCollector:
    """Each closed trade into ``trades.csv`` as it closes: no trade is held. Taken
    from the bus for TradeClosed only (``route``), not called for the topic's other events
    (a position change on every fill)."""

    def __init__(self) -> None:
        self.log: TradeLog | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, TradeClosed):
            self._add(event)

    def route(self, kind: type) -> Callable[[TradeClosed], None] | None:
        return self._add if kind is TradeClosed else None

    def _add(self, event: TradeClosed) -> None:
        if self.log is not None:
            self.log.add(event.trade)


async def _replay_file(
    data: Path, loaded: OpenedCandles, run: _Run, progress: Progress | None
) -> ReplayResult:
    out_dir, series = run.out_dir, loaded.series
    symbol = series.symbol
    out_dir.mkdir(parents=True, exist_ok=True)
    clock = SimClock(0)
    session, account = _session(run, series, clock)
    trades_csv = out_dir / "trades.csv"
    collect = _TradeCollector()
    started = time.perf_counter()
    total = len(series)
    stride = max(1, total // MAX_CURVE_POINTS)
    if stride > 1:  # the agent's lines are read on the curve's points only (indicators.csv)
        session.engine.plots.only_when_asked()
    session.engine.tells_protection = False  # no alert or person reads it while a replay runs
    cursor = await session.open()
    if cursor and not run.resume:
        session.close()
        raise ConfigError(
            "That database already holds a replay; pass --resume to continue it "
            "or point --db at an empty database."
        )
    session.bus.subscribe(collect, topics=(Topic.POSITIONS,))  # where TradeClosed is
    refused = BracketRefusals()
    session.bus.subscribe(refused, topics=(Topic.DECISIONS,))  # where IntentRejected is
    shaping = RunShaping()
    session.bus.subscribe(shaping, topics=(Topic.DECISIONS, Topic.ACCOUNTS))
    curve, log = _resumed_books(session, account.id, cursor, trades_csv)
    collect.log = log
    engine = session.engine
    fed = await feed_candles(
        Feeding(session, clock, series, account.id, run.others, cursor, stride, curve, progress),
        log,
    )
    interrupted = None
    if fed.stopped_at:
        where = make_url(run.db_url).render_as_string(hide_password=True)
        interrupted = (
            f"Stopped on {fed.received[0]} after {fed.stopped_at:,} of {total:,} candles; "
            f"progress saved to {where}. Run the same command with --resume to continue."
        )
        log.discard()
    values = map(itemgetter(1), curve)  # picked in C: no generator frame resumed per point
    summary = summarize(log.totals, values, run.capital, fed.final, fed.fees, fed.open_positions)
    equity_csv = out_dir / "equity.csv"
    equity_png = out_dir / "equity.png"
    drawn, chart_error = run.chart, None
    if interrupted is None:  # a stopped replay exits fast; the resumed one writes these
        drawn, chart_error = _write_files(run, symbol, curve, log, fed.plots)
    return ReplayResult(
        guard=guard_outcome(session.prices, out_dir, held_at_end=not fed.stopped_at),
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
        data=data,
        chart=drawn,
        chart_error=chart_error,
        decision_times=engine.room.times,
        refused=refused.sentence(run.profile, run.settings.profiles or None),
        shaped=tuple(shaping.sentences()),
    )


def _session(
    run: _Run, series: CandleSeries | StreamedSeries, clock: SimClock
) -> tuple[TradingSession, AccountConfig]:
    """The trading session one file is replayed in, with its one account."""
    symbol = series.symbol
    account = AccountConfig(
        id=run.account_id,
        agent=run.agent,
        profile=run.profile,
        capital=run.capital,
        symbols=[symbol],
        owner="replay",
        params=run.params,
    )
    instrument = Instrument.for_price(symbol, series.typical_price())
    settings = run.settings
    session = TradingSession(
        settings,
        clock,
        {symbol: instrument},
        db_url=run.db_url,
        checkpoint_name=run.checkpoint_name,
        accounts=[account],
        checkpoint_every=settings.store.replay_checkpoint_every,
        ride_out_outages=False,
    )
    if run.first_order and isinstance(session.venue, PaperVenue):
        # Fill ids derive from the venue's order numbers, and every file's session shares the
        # database: each file numbers its orders from its own range, so no two files' fills
        # share an id. Numbers only name orders; matching and figures stay the same. A resumed
        # session takes the number back from its checkpoint.
        session.venue.core.seq = run.first_order
    return session, account


def _resumed_books(
    session: TradingSession, account_id: str, cursor: int, trades_csv: Path
) -> tuple[list[tuple[int, float]], TradeLog]:
    """The equity curve and the trade log, with what a resumed replay already booked."""
    curve: list[tuple[int, float]] = []
    earlier = trades_as_closed(session.db, account_id) if cursor else []
    log = TradeLog(trades_csv)
    for trade in earlier:
        log.add(trade)
    del earlier
    if cursor:
        curve.extend((ts, float(eq)) for ts, eq in equity_history(session.db, account_id))
    return curve, log


def _write_files(
    run: _Run, symbol: str, curve: list[tuple[int, float]], log: TradeLog, plots: PlotTaker
) -> tuple[bool, str | None]:
    """``trades.csv``, ``equity.csv``, the agent's lines and the chart of a finished replay;
    whether the chart was drawn, and why not when drawing it failed."""
    out_dir = run.out_dir
    log.finish()
    write_equity_csv(curve, out_dir / "equity.csv")
    title = f"{symbol} · {run.agent} · {run.profile}"
    plots.finish(out_dir, title, run.chart, out_dir / "trades.csv")
    equity_png = out_dir / "equity.png"
    if not run.chart:
        equity_png.unlink(missing_ok=True)  # never leave an older run's curve behind
        return False, None
    chart_error = chart_failure(curve, equity_png, title)
    return chart_error is None, chart_error
