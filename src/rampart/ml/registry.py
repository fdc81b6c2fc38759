"""The model registry: immutable versions, one production at a time, promote and rollback.

Which version serves is decided by the stored history in ``ml_model_transitions``: a promote
pushes a version, a rollback pops back to the one before it. The ``stage`` column mirrors
that (production, archived for the ones that served before, candidate for the rest) and is
written in the same transaction, together with an audit-log entry.

A promote first loads the artifact and checks its SHA-256: a corrupt file can never become
production. :class:`RegistryModels` is what a running service serves from; it notices a change
made by another process (the CLI) through the newest transition id, polled at most once per
``poll_ms`` of its clock, and keeps serving the previous model when the new one will not load.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import exc

from rampart.clock import Clock
from rampart.domain.errors import RampartError, StoreError
from rampart.ml.artifacts import ARTIFACT_NAME, ArtifactError, TrainedModel, load_artifact
from rampart.ml.features import WARMUP, FeatureState
from rampart.store.audit import AuditLog, Entry
from rampart.store.errors import translate
from rampart.store.models.registry import ml_model_transitions, ml_models

log = structlog.get_logger("rampart.ml")

CANDIDATE, PRODUCTION, ARCHIVED = "candidate", "production", "archived"


class RegistryError(RampartError):
    """A registry command that does not apply (unknown version, nothing to roll back to)."""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    version: str
    created_at: int
    created_by: str
    algorithm: str
    feature_names: list[str]
    params: dict[str, Any]
    data: dict[str, Any]
    metrics: dict[str, Any]
    artifact_path: str
    artifact_sha256: str
    stage: str
    promoted_by: str | None
    promoted_at: int | None

    def summary(self) -> dict[str, Any]:
        """The figures a list shows: out-of-sample metrics without the per-fold detail."""
        m = self.metrics
        return {
            "version": self.version,
            "stage": self.stage,
            "algorithm": self.algorithm,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "promoted_by": self.promoted_by,
            "promoted_at": self.promoted_at,
            "trades": m.get("trades"),
            "precision": m.get("precision"),
            "hit_rate": m.get("hit_rate"),
            "ev": m.get("ev"),
            "baseline_precision": m.get("baseline_precision"),
            "baseline_ev": m.get("baseline_ev"),
            "auc": m.get("auc"),
            "files": [f.get("file") for f in self.data.get("files", [])],
        }


def new_version_id(now_ms: int, sha256: str) -> str:
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{sha256[:8]}"


def artifact_file(models_dir: Path, artifact_path: str) -> Path:
    path = Path(artifact_path)
    return path if path.is_absolute() else Path(models_dir) / path


def _db(action: str, err: exc.SQLAlchemyError) -> RampartError:
    """The registry's database failures in the store's one wording (``store.errors``)."""
    return translate(err, f"Could not {action}")


class ModelRegistry:
    def __init__(self, engine: sa.Engine, models_dir: Path) -> None:
        self.engine = engine
        self.models_dir = Path(models_dir)

    # -- reading ------------------------------------------------------------------------------

    def versions(self) -> list[ModelVersion]:
        """Every version, newest first."""
        query = sa.select(ml_models).order_by(
            ml_models.c.created_at.desc(), ml_models.c.version.desc()
        )
        try:
            with self.engine.connect() as conn:
                return [ModelVersion(**row._mapping) for row in conn.execute(query)]
        except exc.SQLAlchemyError as err:
            raise _db("read the model registry", err) from err

    def get(self, version: str) -> ModelVersion:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(ml_models).where(ml_models.c.version == version)
                ).first()
        except exc.SQLAlchemyError as err:
            raise _db("read the model registry", err) from err
        if row is None:
            raise RegistryError(
                f"There is no model version {version!r}; `rampart models list` shows them."
            )
        return ModelVersion(**row._mapping)

    def counter(self) -> int:
        """The newest transition id: changes whenever production changes, anywhere."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.max(ml_model_transitions.c.id))).scalar() or 0
            )

    def production_stack(self, conn: sa.Connection | None = None) -> list[str]:
        """Versions that served, oldest first; the last one is in production now."""
        query = sa.select(ml_model_transitions.c.action, ml_model_transitions.c.version).order_by(
            ml_model_transitions.c.id
        )
        if conn is None:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        else:
            rows = conn.execute(query).all()
        stack: list[str] = []
        for action, version in rows:
            if action == "promote":
                stack.append(version)
            elif stack:
                stack.pop()
        return stack

    def production(self) -> ModelVersion | None:
        stack = self.production_stack()
        return self.get(stack[-1]) if stack else None

    def transitions(self, limit: int = 20) -> list[dict[str, Any]]:
        query = (
            sa.select(ml_model_transitions).order_by(ml_model_transitions.c.id.desc()).limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def load(self, mv: ModelVersion) -> TrainedModel:
        path = artifact_file(self.models_dir, mv.artifact_path)
        return load_artifact(path, mv.artifact_sha256, mv.version)

    # -- writing ------------------------------------------------------------------------------

    def register(self, mv: ModelVersion) -> ModelVersion:
        if mv.stage != CANDIDATE:
            raise RegistryError("A new model version enters the registry as a candidate.")
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(ml_models).values(**_row(mv)))
                AuditLog(self.engine).append(
                    conn,
                    [
                        Entry(
                            mv.created_at,
                            mv.created_by,
                            "model.register",
                            mv.version,
                            {"sha256": mv.artifact_sha256, "algorithm": mv.algorithm},
                        )
                    ],
                )
        except exc.IntegrityError as err:
            raise RegistryError(f"Model version {mv.version} is already registered.") from err
        except exc.SQLAlchemyError as err:
            raise _db("register the model", err) from err
        return mv

    def promote(
        self, version: str, actor: str, ts: int, reason: str = "", *, audit: bool = True
    ) -> ModelVersion:
        """Make ``version`` production, after proving its artifact loads. ``audit=False``: the
        caller audits it (the operator facade, in its numbered, buffered sequence)."""
        mv = self.get(version)
        self.load(mv)  # raises ArtifactError: a corrupt file never becomes production
        try:
            with self.engine.begin() as conn:
                stack = self.production_stack(conn)
                current = stack[-1] if stack else None
                if current == version:
                    raise RegistryError(f"Model {version} is already in production.")
                self._transition(conn, "promote", version, current, actor, ts, reason, audit)
        except exc.SQLAlchemyError as err:
            raise _db("promote the model", err) from err
        log.info("model promoted", version=version, previous=current, actor=actor)
        return self.get(version)

    def rollback(
        self, actor: str, ts: int, reason: str = "", *, audit: bool = True
    ) -> tuple[str, str]:
        """Put the version that served before the current one back; (from, to). ``audit``:
        as for :meth:`promote`."""
        try:
            with self.engine.begin() as conn:
                stack = self.production_stack(conn)
                if len(stack) < 2:
                    raise RegistryError(
                        "There is no earlier production model to roll back to."
                        if stack
                        else "No model is in production, so there is nothing to roll back."
                    )
                current, previous = stack[-1], stack[-2]
                self._transition(conn, "rollback", previous, current, actor, ts, reason, audit)
        except exc.SQLAlchemyError as err:
            raise _db("roll back the model", err) from err
        log.info("model rolled back", version=previous, previous=current, actor=actor)
        return current, previous

    def _transition(
        self,
        conn: sa.Connection,
        action: str,
        version: str,
        previous: str | None,
        actor: str,
        ts: int,
        reason: str,
        audit: bool = True,
    ) -> None:
        conn.execute(
            sa.insert(ml_model_transitions).values(
                ts=ts, action=action, version=version, previous=previous, actor=actor, reason=reason
            )
        )
        if previous is not None:
            conn.execute(
                sa.update(ml_models).where(ml_models.c.version == previous).values(stage=ARCHIVED)
            )
        conn.execute(
            sa.update(ml_models)
            .where(ml_models.c.version == version)
            .values(stage=PRODUCTION, promoted_by=actor, promoted_at=ts)
        )
        if not audit:
            return
        detail = {"from": previous, "to": version, "reason": reason}
        AuditLog(self.engine).append(conn, [Entry(ts, actor, f"model.{action}", version, detail)])


def _row(mv: ModelVersion) -> dict[str, Any]:
    return {name: getattr(mv, name) for name in ModelVersion.__slots__}


class RegistryModels:
    """The agent's model source: the registry's production model, reloaded when it changes.

    Loaded models are kept by version (a few), so a rollback to a recent one is instant.
    """

    warmup = WARMUP + 1
    """Candles before the first feature row exists."""

    def __init__(
        self, registry: ModelRegistry, clock: Clock, poll_ms: int = 1_000, keep: int = 4
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.poll_ms = poll_ms
        self._keep = keep
        self._checked_at: int | None = None
        self._counter = -1
        self._model: TrainedModel | None = None
        self._cache: OrderedDict[str, TrainedModel] = OrderedDict()
        self.production: str | None = None
        """The version the registry names as production (may differ from the one serving)."""
        self.error: str | None = None
        """Why the production version is not the one serving, if it is not."""

    @property
    def serving(self) -> str | None:
        return self._model.version if self._model is not None else None

    def new_features(self) -> FeatureState:
        return FeatureState()

    def current(self) -> TrainedModel | None:
        now = self.clock.now_ms()
        if self._checked_at is None or now - self._checked_at >= self.poll_ms:
            self._checked_at = now
            self.refresh()
        return self._model

    def refresh(self, force: bool = False) -> None:
        """Look at the registry now; switch models if production changed."""
        try:
            counter = self.registry.counter()
            if counter == self._counter and not force:
                return
            stack = self.registry.production_stack()
            self._counter = counter
        except (exc.SQLAlchemyError, StoreError) as err:
            # The database hiccuped: keep serving what we have and look again next time.
            log.warning("model registry unreadable", error=str(err).splitlines()[0])
            return
        version = stack[-1] if stack else None
        self.production = version
        if version is None:
            self._model, self.error = None, None
            return
        if self._model is not None and self._model.version == version:
            self.error = None
            return
        model = self._cache.get(version)
        if model is None:
            try:
                model = self.registry.load(self.registry.get(version))
            except (ArtifactError, RegistryError, StoreError) as err:
                self.error = err.message
                log.error(
                    "production model refused; the previous one keeps serving",
                    version=version,
                    serving=self.serving,
                    error=err.message,
                )
                return
            self._cache[version] = model
            while len(self._cache) > self._keep:
                self._cache.popitem(last=False)
        self._cache.move_to_end(version)
        self._model, self.error = model, None
        log.info("model serving", version=version)

    def status(self) -> dict[str, Any]:
        return {"production": self.production, "serving": self.serving, "error": self.error}


def stage_artifact(models_dir: Path, version: str) -> tuple[Path, str]:
    """(absolute file, path recorded in the registry) for a new version's artifact."""
    relative = f"{version}/{ARTIFACT_NAME}"
    return Path(models_dir) / relative, relative
