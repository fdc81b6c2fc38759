"""``rampart replay``: trade one agent on one or more candle files and print how it did.

Several files (``--data`` repeated, or a directory) run in one process and one database, each
with its own account; the figures of each file are those of replaying it alone, followed by
a total. Heavy modules (the engine, the store, pandas) load inside the command.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from rampart.agents.decision_times import duration_text
from rampart.cli.common import ConfigOpt, friendly
from rampart.domain import money_format as mf
from rampart.domain.errors import RampartError

if TYPE_CHECKING:
    from rampart.wiring.replay import Progress as CandleProgress
    from rampart.wiring.replay import ReplayResult

console = Console()


def _parse_capital(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RampartError(f"Capital must be a number, like 1000; got {text!r}.") from None
    if not value.is_finite() or value <= 0:
        raise RampartError(f"Capital must be a positive amount; got {text}.")
    if value > Decimal("1e12"):
        raise RampartError(f"Capital of {text} is beyond any real account; use at most 1e12.")
    return value


@friendly
def replay(
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="Candle file to replay; repeat it, or give a directory, to replay several "
            "files in one run (one account per file, one database).",
        ),
    ],
    agent: Annotated[
        str,
        typer.Option(
            help="trend, mean_reversion, breakout, or your own: path/to/file.py:ClassName, "
            "package.module:ClassName or an installed agent's name."
        ),
    ] = "trend",
    profile: Annotated[
        str, typer.Option(help="conservative, moderate or aggressive.")
    ] = "moderate",
    capital: Annotated[str, typer.Option(help="Starting capital in the quote currency.")] = "10000",
    out: Annotated[Path | None, typer.Option(help="Output directory.")] = None,
    db: Annotated[str | None, typer.Option(help="Database URL (default: in --out).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted replay.")] = False,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="An agent parameter as NAME=VALUE, e.g. fast=8 for trend (repeatable; a wrong "
            "name is answered with the agent's parameters).",
            show_default=False,
        ),
    ] = None,
    chart: Annotated[
        bool, typer.Option("--chart/--no-chart", help="Draw equity.png (Pillow).")
    ] = True,
    trust_data: Annotated[
        bool,
        typer.Option(
            "--trust-data",
            help="Turn the market-data guard off: every candle counts as it comes, none is "
            "held or dropped as a suspect price (for data you have vetted).",
        ),
    ] = False,
    informative: Annotated[
        list[Path] | None,
        typer.Option(
            "--informative-data",
            help="Another symbol's candle file, looked at (never traded) by an agent that "
            "declares it informative (repeatable).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Replay candle files with one agent and print how it did."""
    started = time.perf_counter()
    _replay(
        data, agent, profile, capital, out, db, resume, param, chart, config, started, trust_data,
        informative or [],
    )  # fmt: skip


def _replay(
    data: list[Path],
    agent: str,
    profile: str,
    capital: str,
    out: Path | None,
    db: str | None,
    resume: bool,
    param: list[str] | None,
    chart: bool,
    config: Path | None,
    started: float,
    trust_data: bool = False,
    informative: list[Path] | None = None,
) -> None:
    from rampart.cli.collector import loading

    if "numpy" not in sys.modules:
        # OpenBLAS starts a worker per core when numpy loads and they spin a while: ~0.05 CPU s
        # on another core for a replay, which multiplies no matrix. A user's choice stands.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with loading():
        from rampart.cli.common import load_settings
        from rampart.observability.logging import configure_logging
        from rampart.wiring.replay import candle_files, parse_params, run_replays

    amount = _parse_capital(capital)
    params = parse_params(agent, param or [])
    files = candle_files(data)
    settings = load_settings(config)
    if trust_data:
        settings.feed.guard = settings.feed.guard.model_copy(update={"enabled": False})
    configure_logging(
        settings.log_level,
        settings.log_format,
        file=Path("var/rampart.log"),
        rotation=settings.logging,
    )
    several = len(files) > 1
    with Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} candles"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:

        def progress_for(path: Path) -> CandleProgress:
            task = bar.add_task(path.name if several else "replay", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return progress

        results = asyncio.run(
            run_replays(
                files,
                agent,
                profile,
                amount,
                settings,
                out,
                db,
                resume,
                progress_for,
                params=params,
                chart=chart,
                informative=informative or (),
            )
        )
    violations = 0
    for result in results:
        if result.interrupted:
            if several and result.data is not None:
                console.print(f"{result.data.name}: {result.interrupted}")
            else:
                console.print(result.interrupted)
            return
        _print_one(result, agent, profile)
        violations += result.violations
    if several:
        _print_total(results, agent, profile, time.perf_counter() - started)
    if violations:
        raise RampartError(f"The replay broke {violations} invariants; see the log.")


SHAPED_SHOWN = 10
"""Lines of "what shaped these figures" printed; summary.json holds every one."""


def _print_one(result: ReplayResult, agent: str, profile: str) -> None:
    for line in result.repairs:
        console.print(Text.assemble(("data: ", "yellow"), line))
    _print_guard(result)
    s = result.summary
    quote = result.symbol.split("/")[1]
    name = result.data.name if result.data is not None else result.symbol
    table = Table(title=f"Replay of {name}: {result.symbol}, {agent}, {profile}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    pf = "n/a (no losing trade)" if s.profit_factor is None else f"{s.profit_factor:.2f}"
    rows = [
        ("candles", f"{result.candles:,}"),
        ("trades", str(s.trades)),
        ("win rate", f"{s.win_rate * 100:.1f} %"),
        ("profit factor", pf),
        ("average reward:risk (planned)", f"{s.avg_reward_risk:.2f}"),
        ("max drawdown", f"{s.max_drawdown * 100:.2f} %"),
        ("fees paid", mf.money(s.fees_paid, quote)),
        ("PnL of closed trades", mf.pnl(s.net_pnl, quote)),
        ("open positions", str(len(s.open_positions))),
        ("final equity", f"{mf.money(s.final_equity, quote)} ({s.return_pct:+.2f} %)"),
    ]
    if s.open_positions:
        rows.insert(-1, ("unrealised PnL of open positions", mf.pnl(s.open_pnl, quote)))
    if result.resumed_from:
        rows.append(("resumed after", f"{result.resumed_from:,} candles"))
    for name, times in result.decision_times.items():
        p50, p99 = (duration_text(times.percentile_ns(q)) for q in (0.5, 0.99))
        rows.append((f"decision time of {name} (p50 / p99)", f"{p50} / {p99}"))
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    if s.open_positions:
        # Final equity counts these at the last price; the trades file holds only closed
        # trades, so a reader adding it up must know they exist.
        console.print(
            Text(
                f"{len(s.open_positions)} position(s) still open at the end of the data (an "
                "exit the last candles could fill only in part, or a remainder below the "
                "venue's minimum order); final equity = capital + PnL of closed trades + "
                "unrealised PnL of these:",
                style="yellow",
            )
        )
        for p in s.open_positions:
            console.print(
                f"  {p.symbol}: {p.qty} at an average {mf.price(p.avg_price)}, last price "
                f"{mf.price(p.mark)}, unrealised {mf.pnl(p.unrealized_pnl, quote)}"
            )
    if result.refused:
        console.print(Text(result.refused, style="yellow"))
    if result.shaped:
        console.print(Text("What shaped these figures besides the agent's trades:", style="yellow"))
        for line in result.shaped[:SHAPED_SHOWN]:
            console.print(f"  {line}")
        if len(result.shaped) > SHAPED_SHOWN:
            more = len(result.shaped) - SHAPED_SHOWN
            console.print(f"  and {more} more: every one is in summary.json (shaped_by).")
    written = {**s.as_dict(), "shaped_by": list(result.shaped)}
    (result.out_dir / "summary.json").write_text(json.dumps(written, indent=2))
    # Wall time, different on every run: kept out of summary.json, which a re-run reproduces.
    decided = {n: t.as_dict() for n, t in result.decision_times.items()}
    (result.out_dir / "decision_times.json").write_text(json.dumps(decided, indent=2))
    if result.chart_error:
        console.print(
            Text(f"{result.equity_png.name} was not drawn: {result.chart_error}", style="yellow")
        )
    equity = result.equity_png if result.chart else result.equity_csv
    console.print(
        f"Trades: {result.trades_csv}  Equity: {equity} "
        f"({result.candles / max(result.seconds, 1e-9):,.0f} candles/s)"
    )
    plotted = result.out_dir / ("chart.png" if result.chart else "indicators.csv")
    if plotted.exists():  # the agent declares indicators to plot
        console.print(f"Indicators: {plotted}")


def _print_guard(result: ReplayResult) -> None:
    from rampart.clock import ms_to_datetime
    from rampart.wiring.quarantine import TRUSTED

    outcome = result.guard
    if outcome is None:
        console.print(Text.assemble(("data: ", "yellow"), TRUSTED))
        return
    if not outcome.listed:
        return  # every candle passed: nothing to say
    console.print(Text.assemble(("data: ", "yellow"), outcome.sentence()))
    for q in outcome.listed[:5]:
        when = ms_to_datetime(q.ts).strftime("%Y-%m-%d %H:%M")
        console.print(f"  {q.symbol} {when}: {q.field} {q.value:.10g}, {q.reason} ({q.outcome})")


def _print_total(results: list[ReplayResult], agent: str, profile: str, seconds: float) -> None:
    """One table over every file: counts summed, money summed per quote currency."""
    by_quote: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for result in results:
        s = result.summary
        figures = by_quote[result.symbol.split("/")[1]]
        figures["capital"] += s.capital
        figures["fees_paid"] += s.fees_paid
        figures["net_pnl"] += s.net_pnl
        figures["open_pnl"] += s.open_pnl
        figures["final_equity"] += s.final_equity
    candles = sum(r.candles for r in results)
    trades = sum(r.summary.trades for r in results)
    wins = sum(r.summary.wins for r in results)
    table = Table(title=f"Replay of {len(results)} files: {agent}, {profile} (one account each)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("files", str(len(results)))
    table.add_row("candles", f"{candles:,}")
    table.add_row("trades", str(trades))
    table.add_row("win rate", f"{wins / trades * 100 if trades else 0.0:.1f} %")
    for quote, figures in sorted(by_quote.items()):
        ret = (figures["final_equity"] - figures["capital"]) / figures["capital"] * 100
        table.add_row(f"fees paid ({quote})", mf.money(figures["fees_paid"], quote))
        table.add_row(f"PnL of closed trades ({quote})", mf.pnl(figures["net_pnl"], quote))
        table.add_row(
            f"final equity ({quote})",
            f"{mf.money(figures['final_equity'], quote)} of "
            f"{mf.money(figures['capital'], quote)} ({ret:+.2f} %)",
        )
    table.add_row(
        "time of the run", f"{seconds:.2f} s ({candles / max(seconds, 1e-9):,.0f} candles/s)"
    )
    console.print(table)
    top = results[0].out_dir.parent
    total = {
        "files": {
            (r.data.name if r.data is not None else r.symbol): r.summary.as_dict() for r in results
        },
        "candles": candles,
        "trades": trades,
        "by_quote": {
            quote: {k: str(v) for k, v in money.items()} for quote, money in by_quote.items()
        },
    }
    (top / "summary.json").write_text(json.dumps(total, indent=2))
    console.print(f"Each file's output is in its own folder under {top}.")
