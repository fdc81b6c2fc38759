"""Tables of revision 0006: the active rollout stage, its transitions and gate evaluations."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, NAME, AutoId, Col, metadata

# One row (``key = 'current'``): the stage in force and what the next decision needs.
rollout_state = sa.Table(
    "rollout_state",
    metadata,
    Col("key", sa.String(CODE), primary_key=True),
    Col("stage", sa.String(NAME)),
    Col("entered_at", sa.BigInteger),
    # A promotion waits for an operator since then (``approval: operator``).
    Col("pending_since", sa.BigInteger, nullable=True),
    Col("held", sa.Boolean),
    Col("hold_reason", sa.Text),
    # Consecutive failing evaluations per gate name.
    Col("streaks", sa.JSON),
    Col("last_evaluated_at", sa.BigInteger, nullable=True),
    Col("updated_at", sa.BigInteger),
)


# Append-only: every promotion, rollback, approval and hold, with who and the evidence.
rollout_transitions = sa.Table(
    "rollout_transitions",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("ts", sa.BigInteger),
    Col("from_stage", sa.String(NAME)),
    Col("to_stage", sa.String(NAME)),
    Col("kind", sa.String(CODE)),
    Col("actor", sa.String(ID)),
    Col("reason", sa.Text),
    Col("evidence", sa.JSON),
    sa.Index("ix_rollout_transitions_ts", "ts"),
)


# One evaluation of the gates over a window, whatever its outcome.
rollout_evaluations = sa.Table(
    "rollout_evaluations",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("ts", sa.BigInteger),
    Col("stage", sa.String(NAME)),
    Col("window_start", sa.BigInteger),
    Col("outcome", sa.String(CODE)),
    Col("reason", sa.Text),
    Col("results", sa.JSON),
    sa.Index("ix_rollout_evaluations_ts", "ts"),
)
