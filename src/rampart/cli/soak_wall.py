"""``rampart soak --wall 24h``: the wall-clock run against ``rampart simulator`` started as a
process of its own, every fault on a schedule (rampart_testkit.soak.wall)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

if TYPE_CHECKING:
    from rampart.config import Settings
    from rampart_testkit.soak import SoakConfig
    from rampart_testkit.soak.remote_stats import RemoteStats
    from rampart_testkit.soak.wall import WallStats
    from rampart_testkit.soak.wall_sim import SimulatorProcess

WALL_ACCOUNTS = 4
WALL_TIMEFRAME = "1s"
"""One-second candles: entries, brackets, exits and the faults between them many times an
hour, on the wall clock."""
BALANCES = ("10000USDT",)


def wall_soak(
    console: Console,
    wall: str,
    faults: str | None,
    accounts: int | None,
    seed: int,
    out: Path,
    reconcile_every: str,
    log_file: Path | None,
    memory_sites: int = 0,
) -> dict[str, Any]:
    """Run it and write its reports; the report (its ``passed`` says the verdict)."""
    from rampart.observability.logging import configure_logging
    from rampart_testkit.soak import SoakConfig, parse_duration
    from rampart_testkit.soak import wall_report as reports
    from rampart_testkit.soak.remote_report import span
    from rampart_testkit.soak.wall_faults import parse_wall_faults
    from rampart_testkit.soak.wall_sim import SimulatorProcess

    config = SoakConfig(
        duration_s=parse_duration(wall),
        faults=parse_wall_faults("all" if faults is None else faults),
        accounts=WALL_ACCOUNTS if accounts is None else accounts,
        seed=seed,
        out_dir=out,
        timeframe=WALL_TIMEFRAME,
        reconcile_every_s=parse_duration(reconcile_every),
        final_settle_wall_s=60.0,
        memory_sites=memory_sites,
    )
    out.mkdir(parents=True, exist_ok=True)
    configure_logging("warning", file=log_file or out / "soak.log")
    sim = SimulatorProcess(out / "simulator.log", config.accounts, config.timeframe, seed, BALANCES)
    console.print(
        f"Wall-clock run: {config.accounts} accounts on a `rampart simulator` process, "
        f"{', '.join(config.symbols)} at {config.timeframe} candles, {span(config.duration_s)} "
        f"of wall time; faults: {', '.join(config.faults) or 'none'}. Progress every 10 "
        f"minutes in {out / 'wall-progress.log'}; Ctrl-C (or SIGTERM) stops it early and still "
        "writes the report."
    )
    stats = asyncio.run(_run(console, config, sim))
    report = reports.build(config, stats)
    json_path, md_path = reports.write(out, report)
    for c in report["criteria"]:
        mark = "[green]PASS[/]" if c["pass"] else "[bold red]FAIL[/]"
        console.print(f"{mark}  {c['name']}: {c['value']}")
    console.print(
        f"{report['orders']} orders, {report['fills']} fills, lost {report['lost']['total']}, "
        f"duplicated {report['duplicated']['total']}, {report['faults']['restarts']} restarts; "
        f"{span(report['run']['traded_s'])} on the wall clock. Reports: {json_path} and "
        f"{md_path}."
    )
    return report


async def _run(console: Console, config: SoakConfig, sim: SimulatorProcess) -> WallStats:
    from rampart_testkit.soak.wall import run_wall_soak
    from rampart_testkit.soak.wall_sim import STOPPED_SIM_S, wall_settings

    await sim.start()
    stats: WallStats | None = None
    try:
        settings: Settings = wall_settings(
            sim,
            config.symbols,
            config.timeframe,
            timeout_s=10.0,
            store=config.out_dir / "soak.db",
        )
        if not console.is_terminal:
            stats = await run_wall_soak(settings, config, sim)
            return stats
        with Progress(
            TextColumn("[bold]wall run[/]"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("wall", total=config.duration_s, info="")

            def update(done_s: float, total_s: float, stats: RemoteStats) -> None:
                progress.update(
                    task,
                    completed=min(done_s, total_s),
                    info=f"{stats.candles} candles · {stats.checks_passed}/{stats.checks} "
                    f"checks · {stats.restarts} restarts",
                )

            stats = await run_wall_soak(settings, config, sim, update)
            return stats
    finally:
        # A run told to stop has its 10 s: the simulator gets a short while to go by itself.
        await sim.stop(within_s=STOPPED_SIM_S if stats is None or stats.interrupted else None)


__all__ = ["wall_soak"]
