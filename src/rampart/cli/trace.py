"""``rampart trace ID``: one entry's path from the agent to the venue, the books, the investor's
notice and the log (the store's records, then the log lines that carry the id)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly
from rampart.domain.errors import RampartError

console = Console(soft_wrap=True)

LogOpt = Annotated[
    Path, typer.Option("--log", help="The service's log file (JSON lines).", metavar="<path>")
]


def _log_lines(path: Path, trace_id: str) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    found = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if trace_id not in line:
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
    return found


@friendly
def trace(
    trace_id: Annotated[
        str,
        typer.Argument(help="An order's client id (rp-…), or 'last': the trade closed last."),
    ],
    config: ConfigOpt = None,
    log: LogOpt = Path("var/rampart.log"),
) -> None:
    """Follow one entry: agent → risk → orders → fills → trade → notices, then its log lines."""
    from rich.table import Table

    from rampart.cli.common import load_settings
    from rampart.clock import ms_to_datetime
    from rampart.store.db import open_database
    from rampart.store.trace import last_entry, trace_steps

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        if trace_id.strip() == "last":
            found = last_entry(db)
            if found is None:
                raise RampartError("No order has been placed yet, so there is none to follow.")
            trace_id = found
        steps = trace_steps(db, trace_id.strip())
    finally:
        db.dispose()
    if steps is None:
        raise RampartError(
            f"No order {trace_id!r} in the store: give an order's client id, such as the "
            "entry_client_id of a trade."
        )
    table = Table(title=f"Trace {trace_id}", show_lines=False)
    for column in ("when (UTC)", "step", "what"):
        table.add_column(column)
    for step in steps:
        table.add_row(f"{ms_to_datetime(step.ts):%Y-%m-%d %H:%M:%S}", step.stage, step.what)
    console.print(table)
    if not any(step.stage == "notice" for step in steps):
        console.print("No investor notice is stored for it (notices need the Telegram bot).")
    lines = _log_lines(log, trace_id)
    if not lines:
        console.print(f"No line of {log} names it.")
        return
    console.print(f"{len(lines)} line(s) of {log}:")
    for entry in lines:
        keys = ("order", "role", "status", "qty", "price", "pnl", "exit_reason", "agent")
        shown = " ".join(f"{k}={entry[k]}" for k in keys if k in entry)
        console.print(f"  {entry.get('timestamp', '')} {entry.get('event', '')} {shown}")
