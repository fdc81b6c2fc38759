"""``rampart soak``: the whole engine against the exchange simulator at accelerated time, with
faults injected at random; or, with ``--remote``, on the wall clock against the exchange the
settings configure (its testnet), judged by what the exchange answers. Writes a JSON and a
Markdown report and exits non-zero when a launch criterion fails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from rampart.cli.common import ConfigOpt, friendly, load_settings
from rampart.cli.soak_options import (
    AccountsOpt,
    BackupEveryOpt,
    DurationOpt,
    FaultsOpt,
    HoursOpt,
    KillsOpt,
    LogFileOpt,
    MemorySitesOpt,
    OutOpt,
    ReconcileEveryOpt,
    RemoteOpt,
    SeedOpt,
    ServiceOpt,
    ServiceReportOpt,
    SpeedOpt,
    StoreUrlOpt,
    VenueOpt,
    WallOpt,
    WorkerProcessesOpt,
    WorkersOpt,
)
from rampart.domain.errors import RampartError

if TYPE_CHECKING:
    from rampart.config import Settings
    from rampart_testkit.soak import SoakConfig, SoakStats
    from rampart_testkit.soak.remote import RemoteStats
    from rampart_testkit.soak.scale_faults import ScaleCounts
    from rampart_testkit.soak.scale_workers import ScaleConfig

console = Console(soft_wrap=True)
err = Console(stderr=True)

DEFAULT_DURATION = "24h"
"""The launch plans' 24-hour continuous run (plan 003 §1.1, plan 000's exit criterion 1)."""


@friendly
def soak(
    duration: DurationOpt = DEFAULT_DURATION,
    speed: SpeedOpt = None,
    faults: FaultsOpt = None,
    accounts: AccountsOpt = None,
    seed: SeedOpt = 7,
    out: OutOpt = Path("var/soak"),
    reconcile_every: ReconcileEveryOpt = "15m",
    log_file: LogFileOpt = None,
    venue: VenueOpt = "ccxt",
    remote: RemoteOpt = False,
    workers: WorkersOpt = 0,
    store_url: StoreUrlOpt = None,
    worker_processes: WorkerProcessesOpt = False,
    wall: WallOpt = None,
    service: ServiceOpt = False,
    hours: HoursOpt = 24.0,
    kills: KillsOpt = 3,
    service_report: ServiceReportOpt = None,
    backup_every: BackupEveryOpt = 6.0,
    settings_file: ConfigOpt = None,
    memory_sites: MemorySitesOpt = 0,
) -> None:
    """Soak-test Rampart against the exchange simulator (or, --remote, a configured exchange's
    testnet) and report against the launch plan."""
    if service:
        from rampart.cli.soak_service import service_soak_command

        other = remote or workers > 0
        service_soak_command(
            console,
            hours,
            kills,
            out,
            service_report,
            speed,
            seed,
            backup_every,
            other,
            faults,
            store_url,
            wall,
        )
        return
    if wall is not None:
        _wall(
            wall,
            faults,
            accounts,
            seed,
            out,
            reconcile_every,
            log_file,
            remote or workers > 0,
            memory_sites,
        )
        return
    if workers or store_url is not None or worker_processes:
        _scale(
            duration,
            speed,
            faults,
            accounts,
            seed,
            out,
            reconcile_every,
            log_file,
            venue,
            remote,
            workers,
            store_url,
            worker_processes,
        )
        return
    if remote:
        _remote(
            settings_file, duration, speed, faults, accounts, out, reconcile_every, log_file, venue
        )
        return
    _accelerated(
        duration, speed, faults, accounts, seed, out, reconcile_every, log_file, venue, memory_sites
    )


def _accelerated(
    duration: str,
    speed: float | None,
    faults: str | None,
    accounts: int | None,
    seed: int,
    out: Path,
    reconcile_every: str,
    log_file: Path | None,
    venue: str,
    memory_sites: int,
) -> None:
    """The accelerated soak against the in-process simulator (ccxt) or the Solana stand-in."""
    from rampart.observability.logging import configure_logging
    from rampart_testkit.soak import SoakConfig, parse_duration
    from rampart_testkit.soak import report as reports
    from rampart_testkit.soak.chaos import parse_faults

    speed = 1000.0 if speed is None else speed
    faults = "all" if faults is None else faults
    from rampart.wiring.venue_kinds import SOLANA

    solana = venue == SOLANA.name
    if solana:
        from rampart_testkit.soak import solana_report as reports  # type: ignore[no-redef]
        from rampart_testkit.soak.solana_faults import parse_solana_faults
    if accounts is None:
        accounts = 10 if solana else 50
    try:
        config = SoakConfig(
            duration_s=parse_duration(duration),
            speed=speed,
            faults=parse_solana_faults(faults) if solana else parse_faults(faults),
            accounts=accounts,
            seed=seed,
            out_dir=out,
            reconcile_every_s=parse_duration(reconcile_every),
            venue=venue,
            memory_sites=memory_sites,
        )
        out.mkdir(parents=True, exist_ok=True)
        configure_logging("warning", file=log_file or out / "soak.log")
        console.print(
            f"Soak ({venue}): {accounts} accounts, {config.duration_s / 3600:g} h simulated at "
            f"up to ×{speed:g}, faults: {', '.join(config.faults) or 'none'}."
        )
        stats = asyncio.run(_run(config))
    except RampartError as exc:
        err.print(Text.assemble(("Error: ", "bold red"), exc.message), highlight=False)
        raise typer.Exit(2) from None
    report = reports.build(config, stats)
    json_path, md_path = reports.write(out, report)
    _print_criteria(report)
    _print_sites(report)
    run = report["run"]
    console.print(
        f"{report['orders']} orders, {report['fills']} fills, lost {report['lost']['total']}, "
        f"duplicated {report['duplicated']['total']}; {run['simulated_s'] / 3600:.1f} h in "
        f"{run['wall_s']:.0f} s. Reports: {json_path} and {md_path}."
    )
    if run.get("interrupted"):
        from rampart.cli.stopped_run import exit_at_once

        exit_at_once(1)  # a stopped run never passes; its 10 s run from the signal
    if not report["passed"]:
        raise typer.Exit(1)


def _wall(
    wall: str,
    faults: str | None,
    accounts: int | None,
    seed: int,
    out: Path,
    reconcile_every: str,
    log_file: Path | None,
    other_mode: bool,
    memory_sites: int,
) -> None:
    from rampart.cli.soak_wall import wall_soak
    from rampart.cli.stopped_run import exit_at_once

    try:
        if other_mode:
            raise RampartError(
                "--wall starts its own simulator and runs in one process: drop --remote and "
                "--workers."
            )
        report = wall_soak(
            console, wall, faults, accounts, seed, out, reconcile_every, log_file, memory_sites
        )
    except RampartError as exc:
        err.print(Text.assemble(("Error: ", "bold red"), exc.message), highlight=False)
        raise typer.Exit(2) from None
    if report["run"]["interrupted"]:
        exit_at_once(1)  # a stopped run never passes; its 10 s run from the signal
    if not report["passed"]:
        raise typer.Exit(1)


def _remote(
    config_path: Path | None,
    duration: str,
    speed: float | None,
    faults: str | None,
    accounts: int | None,
    out: Path,
    reconcile_every: str,
    log_file: Path | None,
    venue: str,
) -> None:
    from rampart.observability.logging import configure_logging
    from rampart_testkit.soak import SoakConfig, parse_duration
    from rampart_testkit.soak import remote_report as reports
    from rampart_testkit.soak.remote import check_settings
    from rampart_testkit.soak.remote_report import span

    if venue != "ccxt":
        raise RampartError("--remote soaks an exchange through ccxt; --venue must be ccxt.")
    if speed is not None:
        raise RampartError("--remote runs on the wall clock: --speed does not apply.")
    if faults not in (None, "none"):
        raise RampartError("--remote injects no faults: the exchange is not the soak's to break.")
    settings = load_settings(config_path)
    configured = check_settings(settings)
    if accounts is not None and not 1 <= accounts <= len(configured):
        raise RampartError(
            f"--accounts must be between 1 and {len(configured)}, the accounts with a key under "
            "venue.credentials."
        )
    f = settings.feed
    soak_config = SoakConfig(
        duration_s=parse_duration(duration),
        faults=(),
        accounts=accounts or len(configured),
        out_dir=out,
        symbols=tuple(f.symbols),
        timeframe=f.timeframe,
        reconcile_every_s=parse_duration(reconcile_every),
        final_settle_wall_s=60.0,
    )
    out.mkdir(parents=True, exist_ok=True)
    configure_logging("warning", file=log_file or out / "soak.log")
    console.print(
        f"Remote soak on {settings.venue.exchange}: {soak_config.accounts} accounts, "
        f"{', '.join(f.symbols)} at {f.timeframe}, {span(soak_config.duration_s)} of wall time; "
        "Ctrl-C stops it early and still writes the report."
    )
    stats = asyncio.run(_run_remote(settings, soak_config))
    report = reports.build(soak_config, stats)
    json_path, md_path = reports.write(out, report)
    _print_criteria(report)
    run = report["run"]
    console.print(
        f"{report['orders']} orders, {report['fills']} fills, lost {report['lost']['total']}, "
        f"duplicated {report['duplicated']['total']}; {span(run['traded_s'])} on the wall "
        f"clock. Reports: {json_path} and {md_path}."
    )
    if not report["passed"]:
        raise typer.Exit(1)


def _scale(
    duration: str,
    speed: float | None,
    faults: str | None,
    accounts: int | None,
    seed: int,
    out: Path,
    reconcile_every: str,
    log_file: Path | None,
    venue: str,
    remote: bool,
    workers: int,
    store_url: str | None,
    processes: bool = False,
) -> None:
    """``--workers N``: the scale soak (:mod:`rampart_testkit.soak.scale_harness`)."""
    from rampart.observability.logging import configure_logging
    from rampart_testkit.nats import nats_binary
    from rampart_testkit.soak import SoakConfig, parse_duration
    from rampart_testkit.soak import scale_report as reports
    from rampart_testkit.soak.scale_faults import parse_scale_faults
    from rampart_testkit.soak.scale_workers import ScaleConfig

    try:
        if remote or venue != "ccxt":
            raise RampartError(
                "The scale soak (--workers) runs on the exchange simulator: drop --remote and "
                "--venue."
            )
        scale = ScaleConfig(workers=workers, store_url=store_url, processes=processes)
        if processes:  # liveness on the wall clock: a short lease, a candle every 0.25 s
            scale.lease_s, scale.ops_step_s = 3.0, 0.25
        config = SoakConfig(
            duration_s=parse_duration(duration),
            speed=1000.0 if speed is None else speed,
            faults=parse_scale_faults("all" if faults is None else faults),
            accounts=12 if accounts is None else accounts,
            seed=seed,
            out_dir=out,
            reconcile_every_s=parse_duration(reconcile_every),
            sim_history=100_000,
        )
        nats_binary()  # before anything is written or started
        out.mkdir(parents=True, exist_ok=True)
        configure_logging("warning", file=log_file or out / "scale-soak.log")
        console.print(
            f"Scale soak: {workers} worker{' processe' if processes else ''}s, "
            f"{config.accounts} accounts, "
            f"{config.duration_s / 3600:g} h simulated at up to ×{config.speed:g}, worker "
            f"faults: {', '.join(config.faults) or 'none'}."
        )
        stats, counts = asyncio.run(_run_scale(config, scale))
    except RampartError as exc:
        err.print(Text.assemble(("Error: ", "bold red"), exc.message), highlight=False)
        raise typer.Exit(2) from None
    report = reports.build(config, scale, stats, counts)
    json_path, md_path = reports.write(out, report)
    _print_criteria(report)
    run = report["run"]
    wf = report["worker_faults"]
    console.print(
        f"{report['orders_on_exchange']} orders, {report['fills_on_exchange']} fills, lost "
        f"{report['lost']['total']}, duplicated {report['duplicated']['total']}; faults "
        f"{wf['injected']}, {wf['takeovers']} takeovers, "
        f"{sum(wf['fenced_refusals'].values())} fenced refusals; "
        f"{run['simulated_s'] / 3600:.1f} h in {run['wall_s']:.0f} s. Reports: {json_path} and "
        f"{md_path}."
    )
    if not report["passed"]:
        raise typer.Exit(1)


def _print_sites(report: dict[str, Any]) -> None:
    from rampart_testkit.soak import memsites

    sites = report.get("memory", {}).get("sites")
    if sites:
        console.print("Memory growth by allocation line, baseline → end (tracemalloc on):")
        for line in memsites.lines(sites):
            console.print(f"  {line}", highlight=False)


def _print_criteria(report: dict[str, object]) -> None:
    for c in report["criteria"]:  # type: ignore[attr-defined]
        mark = "[green]PASS[/]" if c["pass"] else "[bold red]FAIL[/]"
        console.print(f"{mark}  {c['name']}: {c['value']}")


async def _run_remote(settings: Settings, config: SoakConfig) -> RemoteStats:
    from rampart_testkit.soak.remote import run_remote_soak

    if not console.is_terminal:
        return await run_remote_soak(settings, config)
    with Progress(
        TextColumn("[bold]remote soak[/]"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("soak", total=config.duration_s, info="")

        def update(done_s: float, total_s: float, stats: RemoteStats) -> None:
            progress.update(
                task,
                completed=min(done_s, total_s),
                info=f"{stats.candles} candles · {stats.checks_passed}/{stats.checks} checks",
            )

        return await run_remote_soak(settings, config, update)


async def _run_scale(config: SoakConfig, scale: ScaleConfig) -> tuple[SoakStats, ScaleCounts]:
    from rampart_testkit.soak.scale_harness import run_scale_soak

    if not console.is_terminal:
        return await run_scale_soak(config, scale)
    with Progress(
        TextColumn("[bold]scale soak[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} candles"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("soak", total=None)

        def update(done: int, total: int, stats: SoakStats) -> None:
            progress.update(task, completed=done, total=total)

        return await run_scale_soak(config, scale, update)


async def _run(config: SoakConfig) -> SoakStats:
    from rampart.wiring.venue_kinds import SOLANA
    from rampart_testkit.soak import run_soak

    if config.venue == SOLANA.name:
        from rampart_testkit.soak.solana_harness import run_solana_soak as run_soak

    if not console.is_terminal:
        return await run_soak(config)
    with Progress(
        TextColumn("[bold]soak[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} candles"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("soak", total=None, info="")

        def update(done: int, total: int, stats: SoakStats) -> None:
            progress.update(
                task,
                completed=done,
                total=total,
                info=f"repairs {sum(stats.repairs.values())} · crashes {len(stats.crashes)}",
            )

        return await run_soak(config, update)
