"""``rampart preflight``: read-only calls to the configured venue's services, each answer held
against the shape Rampart reads; a table (or JSON), exit 0 when all pass, 1 on any failure, 2
when none of them could be reached."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rampart.cli.common import ConfigOpt, friendly, load_settings

console = Console(soft_wrap=True)
STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "bold red", "SKIP": "dim"}


@friendly
def preflight(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    wallet: Annotated[
        list[str] | None,
        typer.Option(help="Solana: also read this address's balances (repeat for more)."),
    ] = None,
) -> None:
    """Check the venue's services before trading: read-only calls, no order, no transaction."""
    from rampart.observability.logging import configure_logging
    from rampart.wiring.preflight import exit_code, run_preflight, summary

    settings = load_settings(config)
    configure_logging("error")  # the table says what failed; the pool's warnings would repeat it
    checks = asyncio.run(run_preflight(settings, wallets=wallet or []))
    code = exit_code(checks)
    if as_json:
        body = {
            "venue": settings.venue.kind,
            "checks": [c.to_dict() for c in checks],
            "summary": summary(checks),
            "exit_code": code,
        }
        typer.echo(json.dumps(body, indent=2))
        raise typer.Exit(code)
    table = Table(title=f"Preflight of the {settings.venue.kind} venue ({settings.mode} mode)")
    for column in ("check", "endpoint", "result", "detail"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(c.name, c.endpoint, Text(c.result, STYLE[c.result]), c.sentence)
    console.print(table)
    console.print(summary(checks), highlight=False)
    raise typer.Exit(code)
