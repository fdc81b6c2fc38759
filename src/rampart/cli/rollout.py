"""``rampart rollout …``, ``rampart go-nogo`` and ``rampart alerts test``.

These work on the store, so they run beside a running service: a stage changed here is
applied by the service at its next gate evaluation (``rollout.evaluate_every_s``).
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rampart.cli.common import ConfigOpt, friendly
from rampart.clock import ms_to_datetime

console = Console(soft_wrap=True)
rollout_app = typer.Typer(
    help="The staged rollout: status, approve, hold, roll back, evaluate.", no_args_is_help=True
)
alerts_app = typer.Typer(help="Alert channels.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who (default: your user name).", show_default=False)
]
VERDICT_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}


def _user(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "operator"


@contextmanager
def _controller(config: Path | None) -> Iterator[Any]:
    from rampart.cli.common import load_settings
    from rampart.market.service_feed import closes_of
    from rampart.rollout.controller import RolloutController
    from rampart.runtime.business_time import uptime_grace_ms
    from rampart.store.db import open_database
    from rampart.store.service_clock import RecordedClock

    settings = load_settings(config)
    db = open_database(settings.store.url)
    try:
        yield (
            settings,
            RolloutController(
                settings.rollout,
                db,
                RecordedClock(db),
                uptime_grace_ms=uptime_grace_ms(settings),
                closes=closes_of(settings, db),
            ),
        )
    finally:
        db.dispose()


def _when(ms: int | None) -> str:
    return "—" if not ms else ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M UTC")


def _print_status(ctl: Any, as_json: bool) -> None:
    from rampart.rollout.state import transitions

    status = ctl.status()
    recent = transitions(ctl.db, 10)
    if as_json:
        data = {**status.to_dict(), "transitions": [t.to_dict() for t in recent]}
        console.print_json(json.dumps(data))
        return
    if not status.enabled:
        console.print(
            "Rollout is off (rollout.enabled: false): every account trades on the open stage."
        )
        return
    hours = status.in_stage_ms / 3_600_000
    need = status.min_duration_ms / 3_600_000
    since = _when(status.entered_at)
    line = f"Stage [bold]{status.stage}[/] since {since} ({hours:.1f} h of {need:g} h)"
    line += f"; next: {status.next_stage or '— (last stage)'}; approval: {status.approval}."
    console.print(line)
    if status.pending_since:
        console.print(f"Promotion waiting for approval since {_when(status.pending_since)}.")
    if status.held:
        console.print(f"Held: {status.hold_reason}")
    if status.ramp:
        _print_ramp(status.ramp)
    if status.relax:
        relax = status.relax
        console.print(
            f"Limits: level {relax['level']} of {relax['levels']}, {relax['scale']} of each "
            f"profile's position size and daily loss since {_when(relax['since'])} (widened "
            f"after {relax['stable_days']:g} stable days, tight again on a P0)."
        )
        if relax["waiting"]:
            console.print(f"Limits: {relax['waiting']}.")
    if recent:
        table = Table(title="Recent transitions")
        for column in ("when", "kind", "from", "to", "by", "reason"):
            table.add_column(column, overflow="fold")
        for t in recent:
            table.add_row(_when(t.ts), t.kind, t.from_stage, t.to_stage, t.actor, t.reason)
        console.print(table)


def _print_ramp(ramp: dict[str, Any]) -> None:
    def words(step: dict[str, Any]) -> str:
        symbols = ", ".join(step["symbols"]) if step["symbols"] else "every symbol"
        capital = f"{step['capital']} in all" if step["capital"] else "no capital total"
        return f"step {step['step']} (T+{step['after_h']:g} h): {symbols}; {capital}"

    console.print(f"Ramp: {words(ramp['step'])}.")
    if ramp["next"]:
        console.print(f"Next: {words(ramp['next'])} at {_when(ramp['next_due_at'])}.")
    if ramp["waiting"]:
        console.print(f"Why not yet: {ramp['waiting']}.")
    else:
        console.print("Ramp: every step taken; the stage's own limits apply.")


@rollout_app.command("status")
@friendly
def status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The stage in force, its time served and the latest transitions."""
    with _controller(config) as (_, ctl):
        _print_status(ctl, as_json)


@rollout_app.command("approve")
@friendly
def approve(by: ByOpt = None, config: ConfigOpt = None) -> None:
    """Approve the promotion waiting for an operator."""
    with _controller(config) as (_, ctl):
        stage = asyncio.run(ctl.approve(_user(by)))
        console.print(
            f"Promoted to '{stage}'. The running service applies it at its next evaluation."
        )


@rollout_app.command("hold")
@friendly
def hold(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
    release: Annotated[bool, typer.Option("--release", help="Lift the hold instead.")] = False,
    by: ByOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Hold the current stage (no promotion), or lift a hold with --release."""
    with _controller(config) as (_, ctl):
        state = asyncio.run(ctl.hold(_user(by), reason, release))
        word = "held" if state.held else "no longer held"
        console.print(f"Stage '{state.stage}' {word}.")


@rollout_app.command("rollback")
@friendly
def rollback(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
    by: ByOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Step back one stage now; accounts outside it close only, their investors are told."""
    with _controller(config) as (_, ctl):
        stage = asyncio.run(ctl.rollback(_user(by), reason))
        console.print(
            f"Rolled back to '{stage}'. The running service applies it at its next evaluation."
        )


@rollout_app.command("waive-evidence")
@friendly
def waive_evidence(
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
    withdraw: Annotated[
        bool, typer.Option("--withdraw", help="Ask for the research evidence again.")
    ] = False,
    by: ByOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Set GO/NO-GO's research-evidence criterion aside (recorded and audited, with who and
    why), or ask for it again with --withdraw."""
    with _controller(config) as (_, ctl):
        asyncio.run(ctl.waive_evidence(_user(by), reason, withdraw))
    console.print(
        "GO/NO-GO asks for research evidence again."
        if withdraw
        else "Research evidence waived: GO/NO-GO shows the waiver, who made it and why."
    )


@rollout_app.command("evaluate")
@friendly
def evaluate(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Evaluate the gates now, as the scheduled job does, and act on the outcome."""
    with _controller(config) as (_, ctl):
        ev = asyncio.run(ctl.evaluate())
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "stage": ev.stage,
                    "outcome": ev.decision.outcome.value,
                    "moved_to": ev.moved_to,
                    **ev.evidence(),
                }
            )
        )
        return
    moved = f", now '{ev.moved_to}'" if ev.moved_to else ""
    console.print(f"'{ev.stage}': {ev.decision.outcome.value}{moved} — {ev.decision.reason}.")


def _print_targets(targets: Any) -> None:
    if not targets:
        return
    table = Table(title="Launch targets (report lines with their windows; not part of GO)")
    for column in ("target", "window", "measured", "threshold", "verdict"):
        table.add_column(column, overflow="fold")
    for t in targets:
        style = VERDICT_STYLE[t.verdict.value]
        verdict = f"[{style}]{t.verdict.value.upper()}[/]"
        table.add_row(t.name, t.window, t.measured, t.threshold, verdict)
    console.print(table)


@friendly
def go_nogo(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every launch criterion with its measured value, threshold and verdict. Exits 0 only on
    GO, 1 on NO-GO, 2 when it cannot tell (bad settings, no database)."""
    from rampart.rollout.gonogo import go_nogo as build

    with _controller(config) as (settings, ctl):
        report = build(settings, ctl)
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    else:
        start = _when(report.window_start)
        table = Table(title=f"GO/NO-GO · stage '{report.stage}' · window from {start}")
        for column in ("criterion", "measured", "threshold", "verdict"):
            table.add_column(column, overflow="fold")
        for c in report.criteria:
            style = VERDICT_STYLE[c.verdict.value]
            table.add_row(c.name, c.measured, c.threshold, f"[{style}]{c.verdict.value.upper()}[/]")
        console.print(table)
        _print_targets(report.targets)
        style = "bold green" if report.go else "bold red"
        console.print(f"[{style}]{report.summary()}[/]", highlight=False)
    if not report.go:
        raise typer.Exit(1)


@alerts_app.command("test")
@friendly
def alerts_test(by: ByOpt = None, config: ConfigOpt = None) -> None:
    """Send a test alert through the configured channels (log, webhook); recorded for GO/NO-GO
    only when every channel delivered. The Telegram chat is tested from the running service
    (``POST /api/v1/admin/alerts/test``)."""
    from rampart.rollout.drills import alert_test

    with _controller(config) as (settings, ctl):
        result = asyncio.run(alert_test(settings.alerts, ctl.db, ctl.clock, _user(by)))
    console.print(result.message)
