"""``rampart ops export`` and ``rampart incidents``: monitoring files and the incident list."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rampart.cli.common import ConfigOpt, friendly, recorded_now_ms
from rampart.cli.drills import kill_drill, position_loss_drill
from rampart.cli.incident_tools import eta, postmortem
from rampart.cli.tables import Col, print_json, print_listing
from rampart.clock import ms_to_datetime

console = Console(soft_wrap=True)
ops_app = typer.Typer(help="Operations: monitoring files for Prometheus, Alertmanager, Grafana.")
incidents_app = typer.Typer(
    help="List incidents, acknowledge one so its notices stop repeating, give one an ETA, or "
    "draft its postmortem.",
    invoke_without_command=True,
)
ops_app.command("kill-drill")(kill_drill)
ops_app.command("position-loss-drill")(position_loss_drill)
incidents_app.command("postmortem")(postmortem)
incidents_app.command("eta")(eta)


@ops_app.command("export")
@friendly
def export(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    config: ConfigOpt = None,
) -> None:
    """Write Prometheus rules (with promtool tests), prometheus.yml, an Alertmanager config
    and a Grafana dashboard, all matching the in-service alert rules."""
    from rampart.cli.common import load_settings
    from rampart.observability.alerts.overrides import rules_from_settings
    from rampart.observability.export import write_export

    settings = load_settings(config)
    written = write_export(out, rules_from_settings(settings))
    for path in written:
        console.print(str(path), highlight=False)
    console.print(f"Wrote {len(written)} files to {out}.")


def _when(ms: int | None) -> str:
    return "" if ms is None else ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M:%S")


@incidents_app.callback()
@friendly
def incidents(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help="open, acknowledged, resolved or active.", show_default=False),
    ] = None,
    ack: Annotated[
        int | None, typer.Option("--ack", help="Acknowledge this incident.", show_default=False)
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", help="Who acknowledges (default: your user name).", show_default=False
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many to list, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOpt = None,
) -> None:
    """List incidents, newest first, or acknowledge one with --ack ID --by NAME."""
    if ctx.invoked_subcommand is not None:
        return
    from rampart.cli.common import load_settings
    from rampart.observability import incidents as store
    from rampart.store.db import open_database

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        if ack is not None:
            actor = by or _user()
            record = store.acknowledge(db, ack, actor, recorded_now_ms(db))
            if as_json:
                console.print_json(json.dumps(record.to_dict()))
            else:
                console.print(f"Incident {record.id} ({record.rule}) acknowledged by {actor}.")
            return
        found = store.list_incidents(db, status, limit)
    finally:
        db.dispose()
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    if not found:
        console.print("No incidents." if status is None else f"No {status} incidents.")
        return
    columns = [
        Col("id", key=True, justify="right"),
        Col("level"),
        Col("rule", key=True),
        Col("status"),
        Col("opened"),
        Col("acknowledged"),
        Col("resolved"),
        Col("summary"),
    ]
    print_listing(console, columns, (_incident_row(r) for r in found), "Incidents (UTC)")


def _incident_row(r: Any) -> list[str]:
    """Who acknowledged and when it resolved in columns of their own: one status for both
    would read "resolved by carol" for an incident carol only acknowledged. An incident
    resolves by itself when its condition clears; nobody resolves it by hand."""
    acknowledged = (
        ""
        if r.acknowledged_at is None
        else f"by {r.acknowledged_by or '?'} {_when(r.acknowledged_at)}"
    )
    resolved = "" if r.resolved_at is None else f"{_when(r.resolved_at)}, condition cleared"
    return [
        str(r.id),
        r.severity,
        r.rule,
        r.status,
        _when(r.opened_at),
        acknowledged,
        resolved,
        r.summary,
    ]


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "operator"
