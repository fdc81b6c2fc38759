"""The options of ``rampart soak``, one alias each, so the command's signature reads as a
list of names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DurationOpt = Annotated[
    str,
    typer.Option(
        help="Time to run: 24h, 90m, 3600 (seconds), 1d; simulated, or wall time with --remote."
    ),
]

SpeedOpt = Annotated[
    float | None,
    typer.Option(
        help="At most this many simulated seconds per wall second (default 1000).",
        show_default=False,
    ),
]

FaultsOpt = Annotated[
    str | None,
    typer.Option(
        help="all (default: the clean faults), none, dirty (bad_candles, flap, skew, "
        "db_flap, clock_step), or a comma list: latency,drop,error,rate_limit,…; with "
        "--service, all is each kind a simulator process can make, db_outage, clock_step "
        "and bot_cut (the bot's network cut).",
        show_default=False,
    ),
]

AccountsOpt = Annotated[
    int | None,
    typer.Option(help="Trading accounts (default 50; 10 on solana; 12 with --workers)."),
]

SeedOpt = Annotated[int, typer.Option(help="Seed of the market, the agents' mix and faults.")]

OutOpt = Annotated[Path, typer.Option(help="Directory for the reports.")]

ReconcileEveryOpt = Annotated[
    str, typer.Option(help="Simulated time between periodic reconciliations.")
]

LogFileOpt = Annotated[
    Path | None,
    typer.Option(
        help="Where the engine's warnings go (default: OUT/soak.log; "
        "OUT/scale-soak.log with --workers)."
    ),
]

VenueOpt = Annotated[
    str, typer.Option(help="ccxt (the exchange simulator) or solana (the Solana stand-in).")
]

RemoteOpt = Annotated[
    bool,
    typer.Option(
        "--remote",
        help="Trade on the wall clock against the exchange the settings configure (its "
        "testnet and keys), with no simulator control and no faults.",
    ),
]

WorkersOpt = Annotated[
    int,
    typer.Option(
        help="Scale soak: a feed and this many `rampart worker`s sharing the accounts "
        "over NATS (started on 127.0.0.1) and one store, with worker faults: crash, pause, "
        "nats_restart, db_drop, handover. 0: the single-process soak.",
    ),
]

StoreUrlOpt = Annotated[
    str | None,
    typer.Option(
        help="Scale soak and --service: a PostgreSQL URL (a fresh schema is made and dropped; "
        "db_drop, or --service's db_outage, cuts its connections). Default: SQLite in OUT.",
        show_default=False,
    ),
]

WorkerProcessesOpt = Annotated[
    bool,
    typer.Option(
        "--worker-processes",
        help="Scale soak: each worker a `rampart worker` process (crash: SIGKILL, pause: "
        "SIGSTOP then SIGCONT); liveness on the wall clock, a candle every 0.25 s. Needs "
        "--store-url.",
    ),
]

WallOpt = Annotated[
    str | None,
    typer.Option(
        help="The wall-clock run: trade for this long (24h, 20m) on the wall clock against "
        "a `rampart simulator` process it starts on 127.0.0.1, over HTTP and websocket, "
        "with every fault on a schedule (--faults: all, dirty, none or a list). With "
        "--service: the service's day at the wall's pace for this long (resumed after a host "
        "restart when started again with the same --out).",
        show_default=False,
    ),
]

ServiceOpt = Annotated[
    bool,
    typer.Option(
        "--service",
        help="The service soak: `rampart run` (API, alerts, scheduler, backups) and "
        "`rampart simulator` as processes, the service killed with SIGKILL --kills times and "
        "each --faults kind injected once, its alert judged; --hours simulated on the "
        "service's clock, --speed (default 120) of them per second.",
    ),
]

HoursOpt = Annotated[float, typer.Option(help="--service: simulated hours.")]

KillsOpt = Annotated[int, typer.Option(help="--service: SIGKILLs of the service.")]

ServiceReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="--service: the Markdown report (default "
        "docs/operations/runs/<date>-service-soak.md).",
    ),
]

BackupEveryOpt = Annotated[float, typer.Option(help="--service: hours between backups.")]

MemorySitesOpt = Annotated[
    int,
    typer.Option(
        help="List the N allocation lines whose memory grew most from the baseline to the "
        "end (tracemalloc: slower, and it adds to the memory measured). 0: off.",
        min=0,
    ),
]

__all__ = [
    "AccountsOpt",
    "BackupEveryOpt",
    "DurationOpt",
    "FaultsOpt",
    "HoursOpt",
    "KillsOpt",
    "LogFileOpt",
    "MemorySitesOpt",
    "OutOpt",
    "ReconcileEveryOpt",
    "RemoteOpt",
    "SeedOpt",
    "ServiceOpt",
    "ServiceReportOpt",
    "SpeedOpt",
    "StoreUrlOpt",
    "VenueOpt",
    "WallOpt",
    "WorkerProcessesOpt",
    "WorkersOpt",
]
