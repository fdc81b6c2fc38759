"""The trial table of a search: every trial of every fold with its state, its figures, its
setting and, for one that does not count, why (it failed, the agent refused the setting, the
pruner stopped it, or it broke a constraint). Written as ``trials.csv`` beside the report; the
report lists the trials that failed or were refused, with the reason, up to :data:`SHOWN`."""

from __future__ import annotations

import csv
import io
from typing import Any

from rampart.research.analysis import Analysis

SHOWN = 30
"""Trials that did not count listed in the report (all of them are in trials.csv)."""
FIELDS = ("fold", "trial", "state", "value", "trades", "max_drawdown", "shaped_by", "why")


def rows(analysis: Analysis) -> list[dict[str, Any]]:
    """Every trial of every fold, oldest fold first, in trial order."""
    names = [p.name for p in analysis.plan.searched]
    out = []
    for f in analysis.folds:
        for t in f.outcome.trials:
            out.append(
                {
                    "fold": f.outcome.fold.index + 1,
                    "trial": t.number,
                    "state": t.state,
                    "value": "" if t.value is None else f"{t.value:.6g}",
                    "trades": "" if t.trades is None else t.trades,
                    "max_drawdown": "" if t.max_drawdown is None else f"{t.max_drawdown:.6g}",
                    "shaped_by": t.shaped,
                    **{n: t.params.get(n, "") for n in names},
                    "why": t.why,
                }
            )
    return out


def to_csv(analysis: Analysis) -> str:
    names = [p.name for p in analysis.plan.searched]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*FIELDS[:-2], *names, *FIELDS[-2:]])
    writer.writeheader()
    writer.writerows(rows(analysis))
    return out.getvalue()


def _section(
    analysis: Analysis,
    title: str,
    picked: list[dict[str, Any]],
    columns: tuple[str, ...],
    none: str,
    more_in: str,
) -> list[str]:
    """A report section listing ``picked`` trials (up to :data:`SHOWN`) under ``title``, with
    ``columns`` after fold and trial (``setting``: the searched parameters in one cell; a
    column's header is its name with spaces)."""
    lines = ["", f"## {title}", ""]
    if not picked:
        return [*lines, none]
    names = [p.name for p in analysis.plan.searched]
    heads = ("fold", "trial", *columns)
    table = [
        "| " + " | ".join(h.replace("_", " ") for h in heads) + " |",
        "|" + "---|" * len(heads),
    ]
    for r in picked[:SHOWN]:
        cells = {**r, "setting": ", ".join(f"{n}={r[n]}" for n in names)}
        table.append("| " + " | ".join(str(cells[h]) for h in heads) + " |")
    more = len(picked) - SHOWN
    tail = ["", f"And {more} more: {more_in} is in trials.csv."] if more > 0 else []
    return [*lines, *table, *tail]


def not_counted(analysis: Analysis) -> list[str]:
    """The report's section on the trials that failed or whose setting the agent refused."""
    bad = [r for r in rows(analysis) if r["state"] == "fail" or r["why"].startswith("refused")]
    return _section(
        analysis,
        "Trials that failed or were refused",
        bad,
        ("state", "setting", "why"),
        "None: every trial ran to its end or was stopped early by the pruner.",
        "every trial, with why,",
    )


def shaped(analysis: Analysis) -> list[str]:
    """The report's section on the trials that a halt or refused entries shaped, each with what
    happened and when (every trial's is in trials.csv, column shaped_by)."""
    return _section(
        analysis,
        "Trials that a halt or refused entries shaped",
        [r for r in rows(analysis) if r["shaped_by"]],
        ("setting", "trades", "shaped_by"),
        "None: no breaker halted a trial's account and no entry was refused.",
        "every trial's",
    )
