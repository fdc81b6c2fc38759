"""The research report as Markdown: the verdict first, then the setup, every fold's in- and
out-of-sample figures beside buy-and-hold, the overfitting figures, parameter importance and
the charts. It is written beside its PNGs (and as HTML), and stored with them in the reports
table (kind ``research``), where the panel's Reports page lists and shows it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from rampart.domain.performance import Performance
from rampart.research.analysis import Analysis
from rampart.research.charts import FOLDS, HISTORY, IMPORTANCE, OVERFIT
from rampart.research.trial_table import not_counted, shaped

KIND = "research"
TITLES = {
    HISTORY: "Optimisation history",
    IMPORTANCE: "Parameter importance",
    FOLDS: "Equity per fold, in- and out-of-sample",
    OVERFIT: "Overfitting",
}


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _n(x: float | None, fmt: str = ".2f") -> str:
    return "—" if x is None else format(x, fmt)


def _perf_cells(p: Performance | None) -> list[str]:
    if p is None:
        return ["—"] * 4
    return [_n(p.sharpe), f"{p.profit:+.2%}", f"{p.max_drawdown:.1%}", _n(p.sortino)]


def _table(head: list[str], rows: Iterable[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _params(params: dict[str, object] | None) -> str:
    if not params:
        return "—"
    return ", ".join(f"{k}={v}" for k, v in params.items())


FILE_HEAD = [
    "file",
    "fold",
    "IS Sharpe",
    "IS profit",
    "OOS Sharpe",
    "OOS profit",
    "OOS trades",
    "hold Sharpe",
    "hold profit",
]


def _file_rows(analysis: Analysis) -> list[list[str]]:
    rows = []
    for each in analysis.files:
        for f in each.folds:
            o = f.outcome
            rows.append(
                [
                    each.plan.data,
                    str(o.fold.index + 1),
                    *_perf_cells(o.in_sample.perf if o.in_sample else None)[:2],
                    *_perf_cells(o.out_of_sample.perf if o.out_of_sample else None)[:2],
                    str(o.out_of_sample.trades) if o.out_of_sample else "—",
                    _n(f.hold.sharpe if f.hold else None),
                    f"{f.hold.profit:+.2%}" if f.hold else "—",
                ]
            )
        comp = each.comparison
        if comp is not None:
            rows.append(
                [
                    each.plan.data,
                    "all, end to end",
                    "",
                    "",
                    *_perf_cells(comp.strategy)[:2],
                    "",
                    *_perf_cells(comp.hold)[:2],
                ]
            )
    return rows


FOLD_HEAD = [
    "fold",
    "in-sample",
    "out-of-sample",
    "trials (done/pruned/failed)",
    "IS Sharpe",
    "IS profit",
    "IS max DD",
    "IS Sortino",
    "OOS Sharpe",
    "OOS profit",
    "OOS max DD",
    "OOS Sortino",
    "OOS trades",
    "hold Sharpe",
    "hold profit",
    "PBO",
    "DSR",
    "best setting",
]


def render(
    analysis: Analysis,
    charts: Iterable[str],
    *,
    spans: list[tuple[int, int, int, int]],
    charts_note: str | None = None,
    seconds: float | None = None,
) -> str:
    """``spans``: per fold, (in-sample first, in-sample last, out-of-sample first, last) close
    times."""
    plan = analysis.plan
    lines = [f"# Research: {plan.agent} on {plan.data}", ""]
    lines += _verdict(analysis)
    lines += _setup(analysis, seconds)
    lines += _folds(analysis, spans)
    lines += _end_to_end(analysis)
    lines += _overfitting(analysis)
    lines += not_counted(analysis)
    lines += shaped(analysis)
    lines += _importance(analysis)
    lines += _charts(charts, charts_note)
    return "\n".join(lines).rstrip() + "\n"


def _verdict(analysis: Analysis) -> list[str]:
    """The verdict's sentences, and the chosen setting."""
    lines = ["## Verdict", ""]
    lines += [f"- {s}" for s in analysis.verdict]
    if analysis.chosen is not None and analysis.chosen_fold is not None:
        lines += [
            "",
            f"Chosen setting (the best of fold {analysis.chosen_fold + 1}, the newest data): "
            f"`{_params(analysis.chosen)}`.",
        ]
    return lines


def _setup(analysis: Analysis, seconds: float | None) -> list[str]:
    """What was searched, how, and at what cost, as a two-column table."""
    plan = analysis.plan
    setup = [
        ("study", plan.study),
        ("agent", plan.agent),
        ("objective", f"{plan.objective} (maximised, in-sample; scored out-of-sample)"),
        ("constraints", plan.constraints.describe()),
        ("trials", f"{plan.trials} per fold, {plan.jobs} worker process(es)"),
        (
            "sampler / pruner",
            plan.searcher + (" / median pruner" if plan.prune else " / no pruning"),
        ),
        ("seed", str(plan.seed) if plan.seed is not None else "none"),
        ("searched", ", ".join(f"{p.name} {p.describe()}" for p in plan.searched) or "—"),
        ("fixed", _params(dict(plan.fixed))),
        ("costs", "the paper venue's fees and slippage on every fill"),
        ("returns", f"per {plan.period_ms // 60_000} minutes, Sharpe annualised over 365 days"),
    ]
    if plan.inputs_cut:
        setup.append(("folds", plan.inputs_cut))
    if seconds is not None:
        setup.append(("time", f"{seconds:,.0f} s"))
    return ["", "## Setup", "", *_table(["", ""], [[k, v] for k, v in setup])]


def _folds(analysis: Analysis, spans: list[tuple[int, int, int, int]]) -> list[str]:
    """Every fold's in- and out-of-sample figures beside buy-and-hold, and over several
    files a table per file."""
    lines = ["", "## Folds: in-sample against out-of-sample", ""]
    rows = []
    for f, span in zip(analysis.folds, spans, strict=True):
        o = f.outcome
        rows.append(
            [
                str(o.fold.index + 1),
                f"{_day(span[0])} – {_day(span[1])}",
                f"{_day(span[2])} – {_day(span[3])}",
                f"{o.count('complete')}/{o.count('pruned')}/{o.count('fail')}",
                *_perf_cells(o.in_sample.perf if o.in_sample else None),
                *_perf_cells(o.out_of_sample.perf if o.out_of_sample else None),
                str(o.out_of_sample.trades) if o.out_of_sample else "—",
                _n(f.hold.sharpe if f.hold else None),
                f"{f.hold.profit:+.2%}" if f.hold else "—",
                _n(f.pbo.value if f.pbo else None),
                _n(f.dsr),
                _params(dict(o.best.params) if o.best else None),
            ]
        )
    if analysis.files:
        lines += [
            f"Over several files this table shows the weakest one's folds "
            f"({analysis.files[analysis.headline or 0].plan.data}); PBO and DSR are the "
            "study's, over every file's returns.",
            "",
        ]
    lines += _table(FOLD_HEAD, rows)
    if analysis.files:
        lines += ["", "## Per file", ""]
        lines += _table(
            FILE_HEAD,
            _file_rows(analysis),
        )
    return lines


def _end_to_end(analysis: Analysis) -> list[str]:
    """The best settings' out-of-sample figures over all folds, beside buy-and-hold."""
    comp = analysis.comparison
    lines = ["", "## Out-of-sample, all folds end to end", ""]
    if comp is None:
        lines.append("Not every fold has an out-of-sample result.")
        return lines
    if analysis.luck:
        lines += [
            "Not distinguishable from luck (see the verdict): these are the figures a "
            "search over noise produces, not a comparison with buy-and-hold.",
            "",
        ]
    lines += _table(
        ["", "Sharpe", "profit", "max drawdown", "Sortino", "Calmar"],
        [
            [
                "best settings, out-of-sample",
                *_perf_cells(comp.strategy)[:4],
                _n(comp.strategy.calmar),
            ],
            ["buy-and-hold, same candles", *_perf_cells(comp.hold)[:4], _n(comp.hold.calmar)],
        ],
    )
    return lines


def _overfitting(analysis: Analysis) -> list[str]:
    """PBO and the deflated Sharpe ratio, and what each measures."""
    return [
        "",
        "## Overfitting",
        "",
        f"- PBO (combinatorially symmetric cross-validation, pooled over the folds' splits): "
        f"{_n(analysis.pbo)}.",
        f"- Deflated Sharpe ratio of the chosen setting: {_n(analysis.dsr)}.",
        "- PBO: the share of in-sample/out-of-sample splits of the searched data in which the "
        "in-sample winner did no better than the median trial out-of-sample. DSR: the "
        "probability that the setting's Sharpe beats the best that the same number of "
        "trials would show by luck.",
    ]


def _importance(analysis: Analysis) -> list[str]:
    """Each parameter's importance, the mean over the folds, largest first."""
    importances: dict[str, float] = {}
    for f in analysis.folds:
        for name, value in f.outcome.importances.items():
            importances[name] = importances.get(name, 0.0) + value / len(analysis.folds)
    lines = ["", "## Parameter importance", ""]
    if importances:
        lines += _table(
            ["parameter", "importance (mean over folds)"],
            [[k, f"{v:.2f}"] for k, v in sorted(importances.items(), key=lambda kv: -kv[1])],
        )
    else:
        lines.append("Too few complete trials to measure.")
    return lines


def _charts(charts: Iterable[str], charts_note: str | None) -> list[str]:
    """The charts by their titles, or why there are none."""
    names = list(charts)
    lines = ["", "## Charts", ""]
    if names:
        for name in names:
            lines += [f"![{TITLES.get(name, name)}]({name})", ""]
    else:
        lines.append(charts_note or "No charts.")
    return lines
