"""The ``rampart`` command line. Every failure is one plain sentence, never a traceback."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from rampart.cli.audit import audit_app
from rampart.cli.backup import backup_app
from rampart.cli.common import ConfigOpt, friendly, load_settings
from rampart.cli.doctor import doctor
from rampart.cli.drills import kill_drill
from rampart.cli.models import models_app
from rampart.cli.ops import incidents_app, ops_app
from rampart.cli.report import report_app
from rampart.cli.rollout import register as register_rollout
from rampart.cli.secrets import secrets_app
from rampart.cli.sim import simulator
from rampart.cli.soak import soak
from rampart.cli.tokens import token_app
from rampart.domain.errors import RampartError
from rampart.observability.logging import configure_logging

app = typer.Typer(
    help="Rampart: automated crypto trading that is safe to launch with real money.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect and download market data.", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(config_app, name="config")
app.command("simulator")(simulator)
app.command("soak")(soak)
app.add_typer(ops_app, name="ops")
ops_app.command("kill-drill")(kill_drill)
app.add_typer(incidents_app, name="incidents")
app.add_typer(token_app, name="token")
app.add_typer(secrets_app, name="secrets")
register_rollout(app)
app.add_typer(report_app, name="report")
app.add_typer(audit_app, name="audit")
app.add_typer(backup_app, name="backup")
app.add_typer(models_app, name="models")
app.command("doctor")(doctor)

console = Console()


@app.command()
@friendly
def run(
    config: ConfigOpt = None,
    max_candles: Annotated[
        int | None, typer.Option(help="Stop after this many candles (for demos and tests).")
    ] = None,
    speed: Annotated[float | None, typer.Option(help="Simulated seconds per wall second.")] = None,
    view: Annotated[
        bool | None, typer.Option("--view/--no-view", help="Live terminal view.")
    ] = None,
) -> None:
    """Paper trading on the embedded default: synthetic feed, demo accounts, live view."""
    from rampart.wiring.service import run_service

    settings = load_settings(config)
    if speed is not None:
        if speed <= 0:
            raise RampartError("--speed must be a positive number.")
        settings.feed.speed = speed
    configure_logging(settings.log_level, settings.log_format, file=Path("var/rampart.log"))
    asyncio.run(run_service(settings, console, max_candles=max_candles, view=view))


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


@app.command()
@friendly
def replay(
    data: Annotated[Path, typer.Option("--data", help="Candle file to replay.")],
    agent: Annotated[str, typer.Option(help="trend, mean_reversion or breakout.")] = "trend",
    profile: Annotated[
        str, typer.Option(help="conservative, moderate or aggressive.")
    ] = "moderate",
    capital: Annotated[str, typer.Option(help="Starting capital in the quote currency.")] = "10000",
    out: Annotated[Path | None, typer.Option(help="Output directory.")] = None,
    db: Annotated[str | None, typer.Option(help="Database URL (default: in --out).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted replay.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Replay a candle file with one agent and print how it did."""
    from rampart.wiring.replay import run_replay

    amount = _parse_capital(capital)
    settings = load_settings(config)
    configure_logging(settings.log_level, settings.log_format, file=Path("var/rampart.log"))
    with Progress(
        TextColumn("[bold]replay[/]"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} candles"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("replay", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = asyncio.run(
            run_replay(data, agent, profile, amount, settings, out, db, resume, progress)
        )
    if result.interrupted:
        console.print(result.interrupted)
        return
    for line in result.repairs:
        console.print(Text.assemble(("data: ", "yellow"), line))
    s = result.summary
    quote = result.symbol.split("/")[1]
    table = Table(title=f"Replay of {data.name}: {result.symbol}, {agent}, {profile}")
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
        ("fees paid", f"{s.fees_paid:.8g} {quote}"),
        ("PnL of closed trades", f"{s.net_pnl:+.8g} {quote}"),
        ("open positions", str(len(s.open_positions))),
        ("final equity", f"{s.final_equity:.8g} {quote} ({s.return_pct:+.2f} %)"),
    ]
    if s.open_positions:
        rows.insert(-1, ("unrealised PnL of open positions", f"{s.open_pnl:+.8g} {quote}"))
    if result.resumed_from:
        rows.append(("resumed after", f"{result.resumed_from:,} candles"))
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
                f"  {p.symbol}: {p.qty} at an average {p.avg_price:.8g}, last price {p.mark}, "
                f"unrealised {p.unrealized_pnl:+.8g} {quote}"
            )
    (result.out_dir / "summary.json").write_text(json.dumps(s.as_dict(), indent=2))
    console.print(
        f"Trades: {result.trades_csv}  Equity: {result.equity_png} "
        f"({result.candles / max(result.seconds, 1e-9):,.0f} candles/s)"
    )
    if result.violations:
        raise RampartError(f"The replay broke {result.violations} invariants; see the log.")


@data_app.command("inspect")
@friendly
def data_inspect(file: Annotated[Path, typer.Argument(help="Candle file.")]) -> None:
    """Report rows, range, timeframe, gaps, duplicates and bad candles of a file."""
    from rampart.market.quality import inspect_file

    report = inspect_file(file)
    table = Table(title=f"{file}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for label, value in report.lines():
        table.add_row(label, value)
    console.print(table)
    verdict = "[green]clean[/]" if report.ok else "[yellow]has problems (see above)[/]"
    console.print(f"Verdict: {verdict}")


@data_app.command("download")
@friendly
def data_download(
    exchange: Annotated[str, typer.Option(help="ccxt exchange id, e.g. binance.")] = "binance",
    symbol: Annotated[str, typer.Option(help="e.g. BTC/USDT")] = "BTC/USDT",
    timeframe: Annotated[str, typer.Option(help="e.g. 1m, 5m, 1h")] = "1m",
    since: Annotated[str, typer.Option(help="Start date, YYYY-MM-DD (UTC).")] = "2024-01-01",
    until: Annotated[str | None, typer.Option(help="End date, YYYY-MM-DD (UTC).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output file (.json .csv .feather)")] = None,
) -> None:
    """Fetch candles from an exchange through ccxt (needs a network)."""
    from rampart.market.download import download_ohlcv

    def day(text: str, name: str) -> int:
        try:
            parsed = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise RampartError(f"--{name} must be a date like 2024-01-01; got {text!r}.") from None
        return int(parsed.timestamp() * 1000)

    since_ms = day(since, "since")
    until_ms = day(until, "until") if until else None
    target = out or Path("var/data") / f"{symbol.replace('/', '_')}-{timeframe}.json"
    rows = download_ohlcv(exchange, symbol, timeframe, since_ms, until_ms, target)
    console.print(f"Wrote {rows:,} candles to {target}.")


@config_app.command("show")
@friendly
def config_show(config: ConfigOpt = None) -> None:
    """Print the effective settings with secrets masked."""
    from rampart.config import masked_dump, to_yaml

    settings = load_settings(config)
    console.print(to_yaml(masked_dump(settings)), highlight=False, markup=False)


@app.command("agents")
@friendly
def agents_list() -> None:
    """List the built-in agents."""
    from rampart.agents.registry import describe_agents

    for name, line in describe_agents():
        console.print(f"[bold]{name}[/]: {line}")


def main() -> None:
    app(prog_name="rampart")


if __name__ == "__main__":
    main()
    sys.exit(0)
