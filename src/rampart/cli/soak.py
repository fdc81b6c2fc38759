"""``rampart soak``: the whole engine against the exchange simulator at accelerated time, with
faults injected at random; writes a JSON and a Markdown report and exits non-zero when a
launch criterion fails."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from rampart.cli.common import friendly
from rampart.domain.errors import RampartError

if TYPE_CHECKING:
    from rampart_testkit.soak import SoakConfig, SoakStats

console = Console(soft_wrap=True)
err = Console(stderr=True)


@friendly
def soak(
    duration: Annotated[
        str, typer.Option(help="Simulated time to run: 24h, 90m, 3600 (seconds), 1d.")
    ] = "24h",
    speed: Annotated[
        float,
        typer.Option(help="At most this many simulated seconds per wall second."),
    ] = 1000.0,
    faults: Annotated[
        str, typer.Option(help="all, none, or a comma list: latency,drop,error,rate_limit,…")
    ] = "all",
    accounts: Annotated[
        int | None, typer.Option(help="Trading accounts (default 50; 10 on solana).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the market, the agents' mix and faults.")] = 7,
    out: Annotated[Path, typer.Option(help="Directory for the reports.")] = Path("var/soak"),
    reconcile_every: Annotated[
        str, typer.Option(help="Simulated time between periodic reconciliations.")
    ] = "15m",
    log_file: Annotated[
        Path | None, typer.Option(help="Where the engine's warnings go (default: OUT/soak.log).")
    ] = None,
    venue: Annotated[
        str, typer.Option(help="ccxt (the exchange simulator) or solana (the Solana stand-in).")
    ] = "ccxt",
) -> None:
    """Soak-test Rampart against the exchange simulator and report against the launch plan."""
    from rampart.observability.logging import configure_logging
    from rampart_testkit.soak import SoakConfig, parse_duration
    from rampart_testkit.soak import report as reports
    from rampart_testkit.soak.chaos import parse_faults

    solana = venue == "solana"
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
    for c in report["criteria"]:
        mark = "[green]PASS[/]" if c["pass"] else "[bold red]FAIL[/]"
        console.print(f"{mark}  {c['name']}: {c['value']}")
    run = report["run"]
    console.print(
        f"{report['orders']} orders, {report['fills']} fills, lost {report['lost']['total']}, "
        f"duplicated {report['duplicated']['total']}; {run['simulated_s'] / 3600:.1f} h in "
        f"{run['wall_s']:.0f} s. Reports: {json_path} and {md_path}."
    )
    if not report["passed"]:
        raise typer.Exit(1)


async def _run(config: SoakConfig) -> SoakStats:
    from rampart_testkit.soak import run_soak

    if config.venue == "solana":
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
