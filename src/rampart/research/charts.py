"""The research report's PNG charts (the ``reports`` extra's matplotlib, Agg, no pyplot):
the optimisation history, parameter importance, each fold's in- and out-of-sample equity and
the overfitting figures. Each is rendered to bytes, stored with the report and written beside
its Markdown."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rampart.extras import require
from rampart.research.analysis import Analysis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

HISTORY = "history.png"
IMPORTANCE = "importance.png"
FOLDS = "folds.png"
OVERFIT = "overfit.png"
BLUE = "#1f6feb"
ORANGE = "#d4760b"
GREY = "#8c959f"
RED = "#cf222e"


def _figure(height: float = 3.5) -> Figure:
    figure: type[Figure] = require("reports", "matplotlib.figure").Figure
    return figure(figsize=(8, height), dpi=100)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _when(ts: int) -> datetime:
    return datetime.fromtimestamp(ts / 1000, tz=UTC)


def history_chart(analysis: Analysis) -> bytes:
    fig = _figure()
    ax = fig.subplots()
    for f in analysis.folds:
        done = [(t.number, t.value) for t in f.outcome.trials if t.state == "complete"]
        xs = [n for n, v in done if v is not None]
        ys = [v for _, v in done if v is not None]
        line = ax.scatter(xs, ys, s=8, alpha=0.5, label=f"fold {f.outcome.fold.index + 1}")
        best: list[float] = []
        for y in ys:
            best.append(y if not best or y > best[-1] else best[-1])
        ax.step(xs, best, where="post", color=line.get_facecolor()[0], linewidth=1)
    ax.set_xlabel("trial")
    ax.set_ylabel(f"in-sample {analysis.plan.objective}")
    ax.set_title("Optimisation history (dots: trials; line: best so far)")
    ax.legend(fontsize="small")
    return _png(fig)


def importance_chart(analysis: Analysis) -> bytes:
    fig = _figure()
    ax = fig.subplots()
    total: dict[str, float] = {}
    for f in analysis.folds:
        for name, value in f.outcome.importances.items():
            total[name] = total.get(name, 0.0) + value / len(analysis.folds)
    names = sorted(total, key=lambda n: total[n])
    ax.barh(names, [total[n] for n in names], color=BLUE)
    ax.set_xlabel("importance (PED-ANOVA, mean over folds)")
    ax.set_title("Parameter importance")
    return _png(fig)


def folds_chart(analysis: Analysis) -> bytes:
    fig = _figure(1.8 + 1.6 * len(analysis.folds))
    axes = fig.subplots(len(analysis.folds), 1, squeeze=False)
    for ax, f in zip(axes[:, 0], analysis.folds, strict=True):
        o = f.outcome
        for scored, colour, label in (
            (o.in_sample, GREY, "in-sample"),
            (o.out_of_sample, BLUE, "out-of-sample"),
        ):
            if scored is not None and scored.curve:
                base = scored.curve[0][1] or 1.0
                ax.plot(
                    [_when(ts) for ts, _ in scored.curve],
                    [v / base for _, v in scored.curve],
                    color=colour,
                    linewidth=1.1,
                    label=label,
                )
        ax.axhline(1.0, color=GREY, linewidth=0.5, linestyle=":")
        ax.set_ylabel(f"fold {o.fold.index + 1}")
        ax.legend(fontsize="x-small", loc="upper left")
    fig.suptitle("Equity of each fold's best setting (1 = its starting capital)")
    fig.autofmt_xdate()
    return _png(fig)


def overfit_chart(analysis: Analysis) -> bytes:
    fig = _figure()
    left, right = fig.subplots(1, 2)
    logits = [x for f in analysis.folds if f.pbo is not None for x in f.pbo.logits]
    if logits:
        left.hist(logits, bins=30, color=BLUE)
        left.axvline(0.0, color=RED, linewidth=1)
    left.set_title("CSCV logits (at or left of 0: overfit)", fontsize="small")
    labels = [str(f.outcome.fold.index + 1) for f in analysis.folds]
    ins = [
        f.outcome.in_sample.perf.sharpe or 0.0 if f.outcome.in_sample else 0.0
        for f in analysis.folds
    ]
    outs = [
        f.outcome.out_of_sample.perf.sharpe or 0.0 if f.outcome.out_of_sample else 0.0
        for f in analysis.folds
    ]
    holds = [f.hold.sharpe or 0.0 if f.hold else 0.0 for f in analysis.folds]
    xs = range(len(labels))
    right.bar([x - 0.27 for x in xs], ins, width=0.27, color=GREY, label="in-sample")
    right.bar(list(xs), outs, width=0.27, color=BLUE, label="out-of-sample")
    right.bar([x + 0.27 for x in xs], holds, width=0.27, color=ORANGE, label="buy-and-hold")
    right.set_xticks(list(xs), labels)
    right.set_xlabel("fold")
    right.set_title("Sharpe per fold", fontsize="small")
    right.legend(fontsize="x-small")
    return _png(fig)


def render_charts(analysis: Analysis) -> dict[str, bytes]:
    """Every chart by file name; raises MissingExtra without matplotlib."""
    return {
        HISTORY: history_chart(analysis),
        IMPORTANCE: importance_chart(analysis),
        FOLDS: folds_chart(analysis),
        OVERFIT: overfit_chart(analysis),
    }
