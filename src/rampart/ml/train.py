"""Training: candle files → features and bracket labels → walk-forward evaluation → a model.

The reported metrics are out-of-sample: every test window is scored by a model trained only on
rows decided at least the purge gap earlier. The model that is saved is then fitted on all
rows. LightGBM is used when installed, else scikit-learn's histogram gradient boosting; both
come with the ``ml`` extra (``pip install 'rampart[ml]'``), and scikit-learn is needed either
way (LightGBM's classifier and the walk-forward AUC use it).
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rampart.domain.errors import ConfigError, DataError
from rampart.extras import require
from rampart.market.loaders import CandleSeries, load_candles
from rampart.ml.artifacts import TrainedModel, single_thread
from rampart.ml.features import FEATURE_NAMES, batch_features
from rampart.ml.labels import LabelSpec, bracket_labels
from rampart.ml.walkforward import Fold, trade_metrics, walk_forward_folds

ALGORITHMS = ("auto", "lightgbm", "sklearn")
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TrainConfig:
    horizon: int = 24
    atr_stop: float = 1.0
    atr_target: float = 2.0
    fee: float = 0.001
    threshold: float = 0.5
    folds: int = 4
    purge: int | None = None
    """Purge gap in candles; at least (and by default) the label horizon."""
    algorithm: str = "auto"
    trees: int = 200
    learning_rate: float = 0.05
    max_leaves: int = 15
    min_leaf: int = 50
    seed: int = 0
    shuffle_labels: bool = False
    """Train on randomly permuted labels: the leakage check (a model must then be at chance)."""

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(
                f"Unknown algorithm {self.algorithm!r}: choose one of {', '.join(ALGORITHMS)}."
            )
        resolve_algorithm(self.algorithm)  # its libraries are there: said before any data is read
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(
                f"The threshold must be a probability in (0, 1), not {self.threshold}."
            )
        if self.purge is not None and self.purge < self.horizon:
            raise ConfigError(
                f"The purge gap ({self.purge} candles) must be at least the label horizon "
                f"({self.horizon}), or training labels would overlap the test window."
            )
        if self.trees < 1 or self.folds < 1:
            raise ConfigError("Training needs at least one tree and one walk-forward fold.")

    @property
    def label_spec(self) -> LabelSpec:
        return LabelSpec(self.horizon, self.atr_stop, self.atr_target, self.fee)


@dataclass
class Dataset:
    X: npt.NDArray[np.float64]
    labels: npt.NDArray[np.float64]
    returns: npt.NDArray[np.float64]
    ts: npt.NDArray[np.int64]
    """Decision time (the candle's close) of every row, ascending."""
    timeframe_ms: int
    sources: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def series_rows(series: CandleSeries, spec: LabelSpec) -> tuple[Any, ...]:
    """Feature rows, labels, returns and decision times of one series (usable rows only)."""
    X, atr = batch_features(series.high, series.low, series.close, series.volume)
    labels, returns = bracket_labels(series.high, series.low, series.close, atr, spec)
    ok = np.isfinite(labels) & np.all(np.isfinite(X), axis=1)
    ts = np.asarray(series.ts, dtype=np.int64) + series.timeframe_ms
    return X[ok], labels[ok], returns[ok], ts[ok]


def load_dataset(paths: Sequence[Path], spec: LabelSpec) -> Dataset:
    """Rows from every file, ordered by decision time; each source recorded with its SHA-256."""
    if not paths:
        raise ConfigError("Name at least one candle file with --data.")
    parts: list[tuple[Any, ...]] = []
    sources: list[dict[str, Any]] = []
    timeframes: set[int] = set()
    for path in paths:
        series = load_candles(path).series
        rows = series_rows(series, spec)
        timeframes.add(series.timeframe_ms)
        parts.append(rows)
        sources.append(
            {
                "file": Path(path).name,
                "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                "symbol": series.symbol,
                "timeframe": series.timeframe,
                "from_ms": int(series.ts[0]) if len(series.ts) else None,
                "to_ms": int(series.ts[-1]) if len(series.ts) else None,
                "rows": len(rows[1]),
            }
        )
    X = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    returns = np.concatenate([p[2] for p in parts])
    ts = np.concatenate([p[3] for p in parts])
    order = np.argsort(ts, kind="stable")
    if len(order) < 500:
        raise DataError(
            f"The data gives only {len(order)} usable rows; training needs at least 500."
        )
    return Dataset(X[order], labels[order], returns[order], ts[order], max(timeframes), sources)


def resolve_algorithm(name: str) -> str:
    require("ml", "sklearn")  # LightGBM's classifier and the walk-forward AUC need it too
    have_lgbm = importlib.util.find_spec("lightgbm") is not None
    if name == "lightgbm" and not have_lgbm:
        raise ConfigError(
            "LightGBM is not installed: pip install 'rampart[ml]', or use --algorithm sklearn."
        )
    if name == "auto":
        return "lightgbm" if have_lgbm else "sklearn"
    return name


def make_estimator(algorithm: str, cfg: TrainConfig) -> Any:
    if algorithm == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            n_estimators=cfg.trees,
            learning_rate=cfg.learning_rate,
            num_leaves=cfg.max_leaves,
            min_child_samples=cfg.min_leaf,
            reg_lambda=1.0,
            random_state=cfg.seed,
            deterministic=True,
            force_row_wise=True,
            n_jobs=1,
            verbose=-1,
        )
    ensemble = require("ml", "sklearn.ensemble")
    return ensemble.HistGradientBoostingClassifier(
        max_iter=cfg.trees,
        learning_rate=cfg.learning_rate,
        max_leaf_nodes=cfg.max_leaves,
        min_samples_leaf=cfg.min_leaf,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=cfg.seed,
    )


def fit(X: Any, y: Any, algorithm: str, cfg: TrainConfig) -> TrainedModel:
    if len(np.unique(y)) < 2:
        raise DataError("Every training label is the same: there is nothing to learn.")
    estimator = make_estimator(algorithm, cfg)
    # One thread, like LightGBM's n_jobs=1: OpenMP threads fighting for a shared machine's
    # cores made a 1.5 s fit take 50 s.
    with single_thread():
        estimator.fit(X, y.astype(int))
    return TrainedModel(algorithm, estimator, FEATURE_NAMES)


@dataclass
class TrainResult:
    model: TrainedModel
    algorithm: str
    metrics: dict[str, Any]
    """Pooled out-of-sample figures, ``folds`` (one dict per fold) and ``train_rows``."""
    oos_prob: npt.NDArray[np.float64]
    oos_index: npt.NDArray[np.intp]
    params: dict[str, Any]


def train(data: Dataset, cfg: TrainConfig, progress: Progress | None = None) -> TrainResult:
    """Walk-forward evaluation, then the final fit on every row."""
    algorithm = resolve_algorithm(cfg.algorithm)
    labels = data.labels
    if cfg.shuffle_labels:
        labels = np.random.default_rng(cfg.seed).permutation(labels)
    purge_ms = (cfg.purge if cfg.purge is not None else cfg.horizon) * data.timeframe_ms
    folds = walk_forward_folds(data.ts, cfg.folds, purge_ms)
    if not folds:
        raise DataError("The data is too short for even one walk-forward fold.")
    fold_metrics: list[dict[str, Any]] = []
    probs: list[npt.NDArray[np.float64]] = []
    index: list[npt.NDArray[np.intp]] = []
    for fold in folds:
        if progress:
            progress(f"fold {fold.number}/{len(folds)}")
        model = fit(data.X[fold.train], labels[fold.train], algorithm, cfg)
        p = model.predict(data.X[fold.test])
        fold_metrics.append(_fold_figures(fold, data, labels, p, cfg.threshold))
        probs.append(p)
        index.append(fold.test)
    oos_prob = np.concatenate(probs)
    oos_index = np.concatenate(index)
    metrics = trade_metrics(oos_prob, labels[oos_index], data.returns[oos_index], cfg.threshold)
    metrics["folds"] = fold_metrics
    metrics["train_rows"] = len(data)
    if progress:
        progress("final fit")
    final = fit(data.X, labels, algorithm, cfg)
    params = {**asdict(cfg), "algorithm": algorithm, "purge_ms": purge_ms}
    return TrainResult(final, algorithm, metrics, oos_prob, oos_index, params)


def _fold_figures(
    fold: Fold, data: Dataset, labels: Any, prob: Any, threshold: float
) -> dict[str, Any]:
    figures = trade_metrics(prob, labels[fold.test], data.returns[fold.test], threshold)
    return {
        "fold": fold.number,
        "train_rows": fold.train_size,
        "test_rows": fold.test_size,
        "test_from_ms": int(data.ts[fold.test[0]]),
        "test_to_ms": int(data.ts[fold.test[-1]]),
        **figures,
    }
