"""``rampart audit verify|show``: check the hash chain of the audit log, list its entries."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly
from rampart.cli.tables import Col, print_json, print_listing
from rampart.clock import ms_to_datetime

console = Console(soft_wrap=True)
audit_app = typer.Typer(
    help="The tamper-evident audit log: verify its hash chain, show recent entries.",
    no_args_is_help=True,
)


def _open(config: Path | None) -> Any:
    from rampart.cli.common import load_settings
    from rampart.store.db import open_database

    return open_database(load_settings(config).store.url)


@audit_app.command("verify")
@friendly
def verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="A head hash noted outside the database (from an earlier verify): fail "
            "unless that entry is still in the chain, unchanged.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Walk the chain; exit 0 when intact, 1 naming the first edited, missing or moved entry.

    The database's own head record cannot catch a last entry rewritten together with it;
    ``--expect-head`` with a hash kept elsewhere can.
    """
    from rampart.store.audit import AuditLog, noted_head

    # A malformed note is refused before the walk: it is not evidence of tampering.
    anchor = noted_head(expect_head) if expect_head is not None else None
    db = _open(config)
    try:
        verdict = AuditLog(db).verify(expect_head=anchor)
    finally:
        db.dispose()
    if not verdict.ok:
        problem = verdict.problem or ""
        console.print(
            f"[bold red]Audit log tampered with:[/] {problem[0].upper()}{problem[1:]}",
            highlight=False,
        )
        console.print(
            f"{verdict.entries} entries checked before the problem. "
            "Restore the database from a backup and compare, or investigate who had access.",
            highlight=False,
        )
        raise typer.Exit(1)
    console.print(f"Audit log intact: {verdict.entries} entries, the chain holds.", highlight=False)
    if anchor is not None:
        console.print(
            "The noted head is in the chain: nothing up to it was deleted or rewritten.",
            highlight=False,
        )
    console.print(
        f"Head: entry {verdict.head_seq} {verdict.head_hash}\n"
        "Note this hash outside the database (ops log, ticket); `rampart audit verify "
        "--expect-head HASH` later proves nothing up to it was deleted or rewritten.",
        highlight=False,
    )


@audit_app.command("show")
@friendly
def show(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Newest entries.")] = 20,
    action: Annotated[
        str | None,
        typer.Option(help="Only this action, e.g. kill_switch.engaged.", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """The newest entries, oldest first."""
    from rampart.store.audit import AuditLog

    db = _open(config)
    try:
        found = AuditLog(db).tail(limit, action)
    finally:
        db.dispose()
    if as_json:
        print_json([dataclasses.asdict(rec) for rec in found])
        return
    if not found:
        console.print("The audit log is empty.")
        return
    columns = [
        Col("seq", key=True),
        Col("time (UTC)"),
        Col("actor"),
        Col("action"),
        Col("target", key=True),
        Col("detail"),
    ]
    rows = (
        [
            str(rec.seq),
            ms_to_datetime(rec.ts).strftime("%Y-%m-%d %H:%M:%S"),
            rec.actor,
            rec.action,
            rec.target,
            json.dumps(rec.detail, sort_keys=True, ensure_ascii=False),
        ]
        for rec in found
    )
    print_listing(console, columns, rows, "Audit log")
