"""Model artifacts on disk: one file per version, trusted only by its SHA-256.

The file is a pickle (the only format scikit-learn models have), and unpickling runs code: so
the bytes are checked against the checksum recorded in the registry *before* they are
unpickled, and a file that was corrupted or swapped is refused with one sentence. After
loading, the model must name the features this code computes and answer a probe row.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rampart.domain.errors import RampartError
from rampart.extras import missing_sentence
from rampart.ml.features import FEATURE_NAMES

FORMAT = 1
ARTIFACT_NAME = "model.pkl"


class ArtifactError(RampartError):
    """A model file is missing, corrupt, swapped or not a model this version can serve."""


@dataclass
class TrainedModel:
    """A fitted classifier with what serving needs to know about it."""

    algorithm: str
    estimator: Any
    feature_names: tuple[str, ...]
    version: str = ""
    _booster: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._fast_path()

    def _fast_path(self) -> None:
        # LightGBM's own booster skips the sklearn wrapper's per-call validation (~10× faster
        # for one row); scikit-learn's estimator is called directly.
        booster = (
            getattr(self.estimator, "booster_", None) if self.algorithm == "lightgbm" else None
        )
        self._booster = booster

    def predict(self, rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Probability of label 1 for each row, on one thread.

        A handful of rows is far too little work to share out: OpenMP threads spinning up and
        waiting on each other cost milliseconds on a busy machine (p99 ~0.9 s measured on a
        loaded 2-core box), one thread costs ~1 ms.
        """
        rows = np.asarray(rows, dtype=np.float64)
        if self._booster is not None:
            return np.asarray(self._booster.predict(rows, num_threads=1), dtype=np.float64)
        with single_thread():
            return np.asarray(self.estimator.predict_proba(rows)[:, 1], dtype=np.float64)

    def predict_one(self, row: Sequence[float]) -> float:
        return float(self.predict(np.asarray([row], dtype=np.float64))[0])

    def __getstate__(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "algorithm": self.algorithm,
            "estimator": self.estimator,
            "feature_names": list(self.feature_names),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.algorithm = state["algorithm"]
        self.estimator = state["estimator"]
        self.feature_names = tuple(state["feature_names"])
        self.version = ""
        self._booster = None
        self._fast_path()


_controller: Any = None


def single_thread() -> Any:
    """A context in which OpenMP (scikit-learn's gradient boosting) uses one thread."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="openmp")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dump_artifact(model: TrainedModel) -> tuple[bytes, str]:
    """The artifact's bytes and their SHA-256."""
    data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return data, hashlib.sha256(data).hexdigest()


def save_artifact(data: bytes, path: Path) -> None:
    """Write atomically (temp file, fsync, rename): a crash never leaves half a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def load_artifact(path: Path, sha256: str, version: str = "") -> TrainedModel:
    """The model in ``path`` if its bytes hash to ``sha256`` and it serves today's features."""
    name = f"model {version}" if version else "the model"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"The file of {name} cannot be read ({path}: {exc.strerror}).") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ArtifactError(
            f"The file of {name} ({path}) does not match its recorded SHA-256: it was corrupted "
            "or replaced, so it is refused."
        )
    try:
        model = pickle.loads(data)  # noqa: S301 - only after the bytes matched the registry's SHA-256
    except ModuleNotFoundError as exc:
        # An ArtifactError like the others (callers refuse the model), saying which extra.
        if exc.name and exc.name.split(".")[0] in ("sklearn", "lightgbm"):
            raise ArtifactError(f"Cannot load {name}: {missing_sentence('ml', exc.name)}") from exc
        raise ArtifactError(f"The file of {name} ({path}) is not a readable model.") from exc
    except Exception as exc:
        raise ArtifactError(f"The file of {name} ({path}) is not a readable model.") from exc
    if not isinstance(model, TrainedModel):
        raise ArtifactError(f"The file of {name} ({path}) does not hold a Rampart model.")
    if model.feature_names != FEATURE_NAMES:
        raise ArtifactError(
            f"{name.capitalize()} was trained on other features than this version computes; "
            "train it again."
        )
    try:
        probe = model.predict_one([0.0] * len(FEATURE_NAMES))
    except Exception as exc:
        raise ArtifactError(f"{name.capitalize()} fails to score a probe row.") from exc
    if not (math.isfinite(probe) and 0.0 <= probe <= 1.0):
        raise ArtifactError(f"{name.capitalize()} answers {probe!r}, not a probability.")
    model.version = version
    return model
