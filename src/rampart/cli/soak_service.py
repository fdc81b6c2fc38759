"""``rampart soak --service``: the service an operator runs (``rampart run``: API, alerts,
scheduler, backups) as a process of its own against ``rampart simulator`` as another, killed
with SIGKILL and started again, judged on the launch plan's criteria
(rampart_testkit.soak_service). SIGTERM or Ctrl-C ends it within 10 s with the report of what
ran so far."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from rampart.domain.errors import RampartError

if TYPE_CHECKING:
    from rampart_testkit.soak_service.evidence import Evidence
    from rampart_testkit.soak_service.harness import ServiceSoakConfig

DEFAULT_WALL_LIMIT_S = 40 * 60.0


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
    wall_limit_s: float = DEFAULT_WALL_LIMIT_S,
) -> bool:
    """Run it and write its report; whether it passed (FAIL and INCOMPLETE do not)."""
    from rampart_testkit.soak_service import report as reports
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
        wall_limit_s=wall_limit_s,
    )
    path = report or reports.default_path()
    console.print(
        f"Service soak: `rampart run` against `rampart simulator`, {hours:g} simulated hours at "
        f"×{speed:g}, {kills} kills (SIGKILL); work files in {out}, report to {path}. SIGTERM "
        "or Ctrl-C ends it within 10 s with the report of what ran so far."
    )
    evidence = asyncio.run(_run(config, console))
    text, verdict = reports.render(evidence, speed=speed)
    reports.write(path, text)
    console.print(text, markup=False, highlight=False)
    console.print(f"Report: {path}")
    return verdict == PASS


async def _run(config: ServiceSoakConfig, console: Console) -> Evidence:
    from rampart_testkit.soak_service.harness import run_service_soak

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return await run_service_soak(config, stop, lambda line: console.print(line, highlight=False))


__all__ = ["service_soak"]
