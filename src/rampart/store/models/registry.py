"""Tables of revision 0009: the ML model registry.

A version row is written once and describes what was trained (algorithm, features, params,
data with checksums, out-of-sample metrics, the artifact and its SHA-256). Only ``stage`` and
the promotion fields change, always together with a row in ``ml_model_transitions``: that
history is the truth for which version serves (promote pushes, rollback pops), and its
newest id is the cheap counter a running service polls to notice a change made elsewhere.
"""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, NAME, AutoId, Col, metadata

ml_models = sa.Table(
    "ml_models",
    metadata,
    Col("version", sa.String(NAME), primary_key=True),
    Col("created_at", sa.BigInteger),
    Col("created_by", sa.String(ID)),
    Col("algorithm", sa.String(CODE)),
    Col("feature_names", sa.JSON),
    Col("params", sa.JSON),
    # Training files (name, symbol, timeframe, range, rows, SHA-256).
    Col("data", sa.JSON),
    Col("metrics", sa.JSON),
    Col("artifact_path", sa.Text),
    Col("artifact_sha256", sa.String(64)),
    # candidate, production or archived.
    Col("stage", sa.String(CODE)),
    Col("promoted_by", sa.String(ID), nullable=True),
    Col("promoted_at", sa.BigInteger, nullable=True),
    sa.Index("ix_ml_models_stage", "stage"),
)


ml_model_transitions = sa.Table(
    "ml_model_transitions",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("ts", sa.BigInteger),
    # promote or rollback.
    Col("action", sa.String(CODE)),
    # The version in production after this transition.
    Col("version", sa.String(NAME)),
    Col("previous", sa.String(NAME), nullable=True),
    Col("actor", sa.String(ID)),
    Col("reason", sa.Text),
    sa.Index("ix_ml_model_transitions_version", "version"),
)
