"""Tables of revision 0009: the ML model registry (issue 8).

A version row is written once and describes what was trained (algorithm, features, params,
data with checksums, out-of-sample metrics, the artifact and its SHA-256). Only ``stage`` and
the promotion fields change, always together with a row in ``ml_model_transitions``: that
history is the truth for which version serves (promote pushes, rollback pops), and its
newest id is the cheap counter a running service polls to notice a change made elsewhere.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import CODE, ID, NAME, AutoId, Base


class MlModelRow(Base):
    __tablename__ = "ml_models"
    __table_args__ = (sa.Index("ix_ml_models_stage", "stage"),)

    version: Mapped[str] = mapped_column(sa.String(NAME), primary_key=True)
    created_at: Mapped[int]
    created_by: Mapped[str] = mapped_column(sa.String(ID))
    algorithm: Mapped[str] = mapped_column(sa.String(CODE))
    feature_names: Mapped[list[str]] = mapped_column(sa.JSON)
    params: Mapped[dict[str, Any]]
    data: Mapped[dict[str, Any]]
    """Training files (name, symbol, timeframe, range, rows, SHA-256)."""
    metrics: Mapped[dict[str, Any]]
    artifact_path: Mapped[str] = mapped_column(sa.Text)
    artifact_sha256: Mapped[str] = mapped_column(sa.String(64))
    stage: Mapped[str] = mapped_column(sa.String(CODE))
    """candidate, production or archived."""
    promoted_by: Mapped[str | None] = mapped_column(sa.String(ID))
    promoted_at: Mapped[int | None]


class MlModelTransitionRow(Base):
    __tablename__ = "ml_model_transitions"
    __table_args__ = (sa.Index("ix_ml_model_transitions_version", "version"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ts: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(CODE))
    """promote or rollback."""
    version: Mapped[str] = mapped_column(sa.String(NAME))
    """The version in production after this transition."""
    previous: Mapped[str | None] = mapped_column(sa.String(NAME))
    actor: Mapped[str] = mapped_column(sa.String(ID))
    reason: Mapped[str] = mapped_column(sa.Text)


ml_models = MlModelRow.__table__
ml_model_transitions = MlModelTransitionRow.__table__
