"""``rampart doctor``: check a deployment and say what to fix."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from rampart.cli.common import ConfigOpt, friendly

console = Console(soft_wrap=True)
STYLE = {"OK": "green", "WARN": "yellow", "FAIL": "bold red"}


@friendly
def doctor(config: ConfigOpt = None) -> None:
    """Check the deployment: each line OK, WARN or FAIL with what to fix; exit 1 on a FAIL."""
    _doctor(config)


def _doctor(config: Path | None) -> None:
    from rampart.cli.common import load_settings
    from rampart.clock import WallClock
    from rampart.wiring.doctor import run_checks

    checks = run_checks(load_settings(config), WallClock().now_ms())
    for check in checks:
        console.print(
            Text.assemble(
                (f"{check.status:<4}", STYLE[check.status]), f"  {check.name}: {check.message}"
            ),
            highlight=False,
        )
    fails = sum(1 for c in checks if c.status == "FAIL")
    warns = sum(1 for c in checks if c.status == "WARN")
    console.print(f"{len(checks)} checks: {fails} to fix, {warns} to look at.")
    if fails:
        raise typer.Exit(1)
