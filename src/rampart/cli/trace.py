"""``rampart trace ID``: one entry's path from the agent to the venue, the books, the investor's
notice and the log (the store's records, then the log lines that carry the id)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly
from rampart.domain.errors import RampartError
from rampart.observability.log_files import generations

console = Console(soft_wrap=True)

LogOpt = Annotated[
    Path,
    typer.Option(
        "--log",
        help="The service's log file (JSON lines); the files rotated from it are read too.",
        metavar="<path>",
    ),
]


def _matching(lines: Iterable[str], trace_id: str) -> Iterator[dict[str, Any]]:
    for line in lines:
        if trace_id not in line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            yield entry


def _log_lines(path: Path, trace_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The lines naming ``trace_id`` in ``path`` and the files rotated from it (oldest
    first, ``.gz`` read as they are), and a sentence for each file that could not be read
    to its end: what came before the damage is still shown."""
    found: list[dict[str, Any]] = []
    problems: list[str] = []
    for file in generations(path):
        opener = gzip.open if file.suffix == ".gz" else open
        try:
            with opener(file, "rt", encoding="utf-8", errors="replace") as handle:
                for entry in _matching(handle, trace_id):
                    found.append(entry)
        except (OSError, EOFError, zlib.error) as err:
            problems.append(f"{file} could not be read to its end ({err}); skipped the rest.")
    return found, problems


def _show_spans(directory: Path, client_id: str) -> None:
    """The spans naming the entry (``tracing.exporter: file`` writes them beside the logs),
    with the candle, decision and publish they ran inside, across processes."""
    from rich.table import Table

    from rampart.clock import ms_to_datetime
    from rampart.observability.span_file import read_spans, span_files, spans_of

    files = span_files(directory)
    if not files:
        console.print(
            f"No spans in {directory} (traces are written there with tracing.exporter: file)."
        )
        return
    spans = spans_of(read_spans(files), client_id)
    if not spans:
        console.print(f"No span in {directory}'s spans files names it.")
        return
    table = Table(title=f"Spans of {client_id}", show_lines=False)
    for column in ("wall clock (UTC)", "process", "span", "ms", "trace"):
        table.add_column(column)
    for span in spans:
        start, end = int(span.get("start_ns") or 0), int(span.get("end_ns") or 0)
        attrs = span.get("attributes") or {}
        detail = " ".join(
            f"{k.removeprefix('rampart.')}={v}"
            for k, v in attrs.items()
            if k in ("rampart.symbol", "rampart.status", "rampart.fill_price", "rampart.shard")
        )
        table.add_row(
            f"{ms_to_datetime(start // 1_000_000):%Y-%m-%d %H:%M:%S}",
            str(span.get("service", "")).removeprefix("rampart-"),
            f"{span.get('name', '')} {detail}".strip(),
            f"{max(0, end - start) / 1e6:.1f}",
            str(span.get("trace_id", ""))[:12],
        )
    console.print(table)


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
    _show_spans(log.parent, trace_id)
    lines, problems = _log_lines(log, trace_id)
    for problem in problems:
        console.print(problem)
    if not lines:
        console.print(f"No line of {log} or the files rotated from it names it.")
        return
    console.print(f"{len(lines)} line(s) of {log} and the files rotated from it:")
    for entry in lines:
        keys = ("order", "role", "status", "qty", "price", "pnl", "exit_reason", "agent")
        shown = " ".join(f"{k}={entry[k]}" for k in keys if k in entry)
        console.print(f"  {entry.get('timestamp', '')} {entry.get('event', '')} {shown}")
