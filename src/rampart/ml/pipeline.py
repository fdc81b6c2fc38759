"""Train on candle files and register the result as a candidate version."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rampart.ml.artifacts import TrainedModel, dump_artifact, save_artifact
from rampart.ml.registry import (
    CANDIDATE,
    ModelRegistry,
    ModelVersion,
    new_version_id,
    stage_artifact,
)
from rampart.ml.train import Progress, TrainConfig, TrainResult, load_dataset, train


def register_model(
    registry: ModelRegistry,
    model: TrainedModel,
    *,
    actor: str,
    now_ms: int,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> ModelVersion:
    """Write the artifact and add it to the registry as a candidate."""
    blob, sha = dump_artifact(model)
    version = new_version_id(now_ms, sha)
    path, relative = stage_artifact(registry.models_dir, version)
    # The same model trained twice at the same (service) time has the same version: its file
    # belongs to the version already registered and must survive the refused second one.
    ours = not path.exists()
    if ours:
        save_artifact(blob, path)
    mv = ModelVersion(
        version=version,
        created_at=now_ms,
        created_by=actor,
        algorithm=model.algorithm,
        feature_names=list(model.feature_names),
        params=params or {},
        data=data or {},
        metrics=metrics or {},
        artifact_path=relative,
        artifact_sha256=sha,
        stage=CANDIDATE,
        promoted_by=None,
        promoted_at=None,
    )
    try:
        registry.register(mv)
    except BaseException:
        if ours:
            path.unlink(missing_ok=True)
        raise
    return mv


def train_and_register(
    registry: ModelRegistry,
    paths: Sequence[Path],
    cfg: TrainConfig,
    *,
    actor: str,
    now_ms: int,
    progress: Progress | None = None,
) -> tuple[ModelVersion, TrainResult]:
    data = load_dataset(paths, cfg.label_spec)
    result = train(data, cfg, progress)
    starts = [s["from_ms"] for s in data.sources if s["from_ms"] is not None]
    ends = [s["to_ms"] for s in data.sources if s["to_ms"] is not None]
    described = {
        "files": data.sources,
        "from_ms": min(starts) if starts else None,
        "to_ms": max(ends) if ends else None,
        "rows": len(data),
    }
    mv = register_model(
        registry,
        result.model,
        actor=actor,
        now_ms=now_ms,
        params=result.params,
        data=described,
        metrics=result.metrics,
    )
    return mv, result
