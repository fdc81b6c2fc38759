"""``rampart soak --service``: the service an operator runs (``rampart run``: API, alerts,
scheduler, backups) as a process of its own against ``rampart simulator`` as another, killed
with SIGKILL and started again, judged on the launch plan's criteria
(rampart_testkit.soak_service). SIGTERM or Ctrl-C ends it within 10 s with the report of what
ran so far; after a host restart the same command resumes it into the same report."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from rampart.domain.errors import RampartError

if TYPE_CHECKING:
    from rampart_testkit.soak_service.evidence import Evidence
    from rampart_testkit.soak_service.harness import ServiceSoakConfig

DEFAULT_WALL_LIMIT_S = 40 * 60.0
DEFAULT_SPEED = 120.0
"""Simulated seconds per wall second: a simulated day in 12 minutes plus the restarts."""


def wall_bound_s(hours: float, speed: float) -> float:
    """The wall time a run may take: 40 minutes, or half as long again as its simulated hours
    take at ``speed`` (a run at ×1 is the day on the wall clock)."""
    return max(DEFAULT_WALL_LIMIT_S, hours * 3600 / speed * 1.5)


def service_soak_command(
    console: Console,
    hours: float,
    kills: int,
    out: Path,
    report: Path | None,
    speed: float | None,
    seed: int,
    backup_every: float,
    other_mode: bool = False,
    faults: str | None = None,
    store_url: str | None = None,
    wall: str | None = None,
) -> None:
    """``rampart soak --service``: exit 0 on PASS, 1 on FAIL or INCOMPLETE, 2 on bad input.
    With ``--wall 24h`` the service's clock runs at the wall's pace for that long (``--hours``
    and ``--speed`` do not apply)."""
    try:
        if other_mode:
            raise RampartError(
                "--service runs its own service and simulator: drop --remote and --workers "
                "(the day on the wall clock is --service --wall 24h)."
            )
        if wall is not None:
            from rampart_testkit.soak import parse_duration

            if speed is not None:
                raise RampartError("--service --wall runs at the wall's pace: drop --speed.")
            hours, speed = parse_duration(wall) / 3600, 1.0
        passed = service_soak(
            console,
            hours=hours,
            kills=kills,
            out=out / "service",
            report=report,
            speed=DEFAULT_SPEED if speed is None else speed,
            seed=seed,
            backup_every_h=backup_every,
            faults=parse_service_faults("all" if faults is None else faults),
            store_url=store_url,
        )
    except RampartError as exc:
        Console(stderr=True).print(
            Text.assemble(("Error: ", "bold red"), exc.message), highlight=False
        )
        raise typer.Exit(2) from None
    if not passed:
        raise typer.Exit(1)


def service_soak(
    console: Console,
    *,
    hours: float,
    kills: int,
    out: Path,
    report: Path | None,
    speed: float,
    seed: int,
    backup_every_h: float,
    wall_limit_s: float | None = None,
    faults: tuple[str, ...] = (),
    store_url: str | None = None,
) -> bool:
    """Run it and write its report; whether it passed (FAIL and INCOMPLETE do not)."""
    from rampart_testkit.soak_service import report as reports
    from rampart_testkit.soak_service.faults import bot_cut_wall_s
    from rampart_testkit.soak_service.harness import ServiceSoakConfig
    from rampart_testkit.soak_service.judge import PASS

    if hours <= 0:
        raise RampartError("--hours must be more than 0.")
    if kills < 0:
        raise RampartError("--kills must be 0 or more.")
    if speed <= 0:
        raise RampartError("--speed must be more than 0.")
    config = ServiceSoakConfig(
        out_dir=out,
        hours=hours,
        kills=kills,
        speed=speed,
        seed=seed,
        backup_every_h=backup_every_h,
        faults=faults,
        store_url=store_url,
        bot_cut_s=bot_cut_wall_s(hours, speed),
        wall_limit_s=wall_bound_s(hours, speed) if wall_limit_s is None else wall_limit_s,
    )
    path = report or reports.default_path()
    console.print(
        f"Service soak: `rampart run` against `rampart simulator`, {hours:g} simulated hours at "
        f"×{speed:g}, {kills} kills (SIGKILL), faults: {', '.join(faults) or 'none'}; work "
        f"files in {out}, report to {path}. SIGTERM or Ctrl-C ends it within 10 s "
        "with the report of what ran so far; after a host restart, the same command resumes "
        "it (an unfinished run in that folder is continued, not begun again)."
    )
    evidence = asyncio.run(_run(config, console))
    text, verdict = reports.render(evidence, speed=speed)
    reports.write(path, text)
    console.print(text, markup=False, highlight=False)
    console.print(f"Report: {path}")
    return verdict == PASS


def parse_service_faults(text: str) -> tuple[str, ...]:
    """``all`` (every kind of ``soak --faults all`` a service run can make), ``none`` or a comma
    list of them; a ConfigError in one sentence otherwise."""
    from rampart_testkit.soak.chaos import parse_faults
    from rampart_testkit.soak_service.faults import SERVICE_KINDS

    return parse_faults(text, SERVICE_KINDS, "service run", ())


async def _run(config: ServiceSoakConfig, console: Console) -> Evidence:
    from rampart_testkit.soak_service.harness import run_service_soak

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await run_service_soak(config, stop, lambda line: console.print(line, highlight=False))


__all__ = ["parse_service_faults", "service_soak", "service_soak_command"]
