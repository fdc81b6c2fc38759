"""Walk-forward splits with a purge gap, and the trading metrics a model is judged by.

Rows are ordered by decision time. The first ``min_train`` share of them only ever trains;
the rest is cut into ``folds`` consecutive test windows. Each window trains on everything
decided at least ``purge_ms`` before its first row (an expanding window), so with a purge of
at least the label horizon no training label watches a candle the test window trades on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rampart.extras import require

Index = npt.NDArray[np.intp]
Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Fold:
    number: int
    train: Index
    test: Index

    @property
    def train_size(self) -> int:
        return len(self.train)

    @property
    def test_size(self) -> int:
        return len(self.test)


def walk_forward_folds(
    ts: npt.NDArray[np.int64], folds: int, purge_ms: int, min_train: float = 0.4
) -> list[Fold]:
    """Expanding-window folds over rows sorted by ``ts`` (decision times in UTC ms)."""
    if folds < 1:
        raise ValueError(f"walk-forward needs at least one fold, not {folds}")
    if purge_ms < 0:
        raise ValueError(f"the purge gap cannot be negative, not {purge_ms} ms")
    if not 0 < min_train < 1:
        raise ValueError(f"the first training share must be in (0, 1), not {min_train}")
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) > 1 and np.any(np.diff(ts) < 0):
        raise ValueError("rows must be sorted by time for walk-forward splits")
    n = len(ts)
    start = int(n * min_train)
    bounds = np.linspace(start, n, folds + 1).astype(int)
    out: list[Fold] = []
    for i in range(folds):
        a, b = int(bounds[i]), int(bounds[i + 1])
        if a >= b:
            continue
        cutoff = ts[a] - purge_ms
        train_end = int(np.searchsorted(ts, cutoff, side="left"))
        if train_end == 0:
            continue
        out.append(Fold(len(out) + 1, np.arange(train_end), np.arange(a, b)))
    return out


def trade_metrics(prob: Array, labels: Array, returns: Array, threshold: float) -> dict[str, Any]:
    """Figures for the trades a model takes (probability ≥ threshold) and for the baseline
    that takes every row.

    ``precision``: share of taken trades whose label is 1 (target first, net of fees);
    ``hit_rate``: share of taken trades with a positive net return (includes time-outs that
    ended up); ``ev``: mean net return per taken trade, a fraction of the entry.
    """
    prob, labels, returns = (np.asarray(a, dtype=np.float64) for a in (prob, labels, returns))
    take = prob >= threshold
    return {
        "threshold": threshold,
        "rows": len(prob),
        "trades": int(take.sum()),
        **_figures(labels[take], returns[take], ""),
        **_figures(labels, returns, "baseline_"),
        "auc": _auc(prob, labels),
    }


def _figures(labels: Array, returns: Array, prefix: str) -> dict[str, float | None]:
    if len(labels) == 0:
        return {f"{prefix}precision": None, f"{prefix}hit_rate": None, f"{prefix}ev": None}
    return {
        f"{prefix}precision": float(labels.mean()),
        f"{prefix}hit_rate": float((returns > 0).mean()),
        f"{prefix}ev": float(returns.mean()),
    }


def _auc(prob: Array, labels: Array) -> float | None:
    if len(np.unique(labels)) < 2:
        return None
    metrics = require("ml", "sklearn.metrics")
    return float(metrics.roc_auc_score(labels, prob))
