"""The ``rampart`` command line. Every failure is one plain sentence, never a traceback."""

from __future__ import annotations

import asyncio
import gc
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rampart.cli.common import ConfigOpt, friendly, load_settings
from rampart.cli.lazy import LazyRoot
from rampart.domain.errors import RampartError
from rampart.observability.logging import configure_logging

app = typer.Typer(
    help="Rampart: automated crypto trading that is safe to launch with real money.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyRoot,  # the sub-commands of rampart.cli.lazy.LAZY are loaded when asked for
)
data_app = typer.Typer(help="Inspect and download market data.", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(config_app, name="config")

console = Console()


def _print_version(asked: bool) -> None:
    if asked:
        from rampart.cli.version import version_text

        console.print(version_text(), highlight=False, markup=False)
        raise typer.Exit()


@app.callback()
@friendly
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version (and the commit, in a git checkout) and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Rampart: automated crypto trading that is safe to launch with real money."""


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
    from rampart.runtime.threads import with_started_threads
    from rampart.wiring.service import run_service

    settings = load_settings(config)
    if speed is not None:
        if speed <= 0:
            raise RampartError("--speed must be a positive number.")
        settings.feed.speed = speed
    configure_logging(
        settings.log_level,
        settings.log_format,
        file=Path("var/rampart.log"),
        rotation=settings.logging,
    )
    from rampart.observability.tracing import setup_tracing

    setup_tracing(settings.tracing, "run")
    asyncio.run(
        with_started_threads(run_service(settings, console, max_candles=max_candles, view=view))
    )


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


def main() -> None:
    try:
        app(prog_name="rampart")
    finally:
        # The command is done: keep the interpreter's last garbage collections from walking
        # every object of the libraries loaded (0.2 s of a short `rampart replay`). Objects
        # are still freed as modules are torn down; only cycles left at exit are not.
        gc.freeze()


if __name__ == "__main__":
    main()
    sys.exit(0)
