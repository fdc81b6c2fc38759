"""The options of ``rampart optimize``, each a named type with its help text, so that the
command's signature reads as a list of names (``rampart.cli.optimize``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataOpt = Annotated[
    list[Path],
    typer.Option(
        "--data",
        help="The candle file to search on; repeat it, or give a folder, to search one "
        "setting over several files (of one timeframe).",
    ),
]
AgentOpt = Annotated[
    str,
    typer.Option(
        help="trend, mean_reversion, breakout, or your own: path/to/file.py:ClassName, "
        "package.module:ClassName or an installed agent's name."
    ),
]
ObjectiveOpt = Annotated[str, typer.Option(help="sharpe, sortino, calmar or profit (maximised).")]
TrialsOpt = Annotated[
    int | None, typer.Option(help="Trials per fold (default 100).", show_default=False)
]
GridOpt = Annotated[
    bool,
    typer.Option(
        "--grid",
        help="Trade every setting of the searched whole-number, listed and stepped "
        "parameters, in each fold (no sampler, no pruning).",
    ),
]
FoldsOpt = Annotated[int, typer.Option(help="Walk-forward folds.")]
InBlocksOpt = Annotated[
    int, typer.Option(help="In-sample length of a fold, in out-of-sample blocks.")
]
JobsOpt = Annotated[int, typer.Option(help="Worker processes (0: every core).")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed of the sampler (repeatable searches).")]
PruneOpt = Annotated[
    bool | None,
    typer.Option(
        "--prune/--no-prune", help="Stop trailing trials early (default: on, off with --grid)."
    ),
]
MaxDrawdownOpt = Annotated[
    float | None, typer.Option(help="Constraint: largest drawdown allowed, in %.")
]
MinTradesOpt = Annotated[int, typer.Option(help="Constraint: fewest closed trades.")]
FixOpt = Annotated[
    list[str] | None,
    typer.Option("--fix", help="Hold a parameter at NAME=VALUE (repeatable).", show_default=False),
]
RangeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--range",
        help="Search NAME=LOW:HIGH, inside the declared range (repeatable).",
        show_default=False,
    ),
]
ProfileOpt = Annotated[str, typer.Option(help="conservative, moderate or aggressive.")]
CapitalOpt = Annotated[str, typer.Option(help="Starting capital in the quote currency.")]
StudyOpt = Annotated[
    str | None, typer.Option(help="Study name (default: agent, file and objective).")
]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        help="Where studies live: a PostgreSQL URL or a journal file (default: beside the store)."
    ),
]
OutOpt = Annotated[Path | None, typer.Option(help="Report folder.")]
SaveOpt = Annotated[
    str | None,
    typer.Option(help="Save the chosen setting under this name, with its evidence."),
]
InformativeOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--informative-data",
        help="Another symbol's candle file, looked at (never traded) by an agent that "
        "declares it informative (repeatable).",
        show_default=False,
    ),
]
