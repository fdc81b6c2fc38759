"""Tables of revision 0006: the active rollout stage, its transitions and gate evaluations."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import CODE, ID, NAME, AutoId, Base


class RolloutStateRow(Base):
    """One row (``key = 'current'``): the stage in force and what the next decision needs."""

    __tablename__ = "rollout_state"

    key: Mapped[str] = mapped_column(sa.String(CODE), primary_key=True)
    stage: Mapped[str] = mapped_column(sa.String(NAME))
    entered_at: Mapped[int]
    pending_since: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    """A promotion waits for an operator since then (``approval: operator``)."""
    held: Mapped[bool]
    hold_reason: Mapped[str] = mapped_column(sa.Text)
    streaks: Mapped[dict[str, Any]]
    """Consecutive failing evaluations per gate name."""
    last_evaluated_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    updated_at: Mapped[int]


class RolloutTransitionRow(Base):
    """Append-only: every promotion, rollback, approval and hold, with who and the evidence."""

    __tablename__ = "rollout_transitions"
    __table_args__ = (sa.Index("ix_rollout_transitions_ts", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ts: Mapped[int]
    from_stage: Mapped[str] = mapped_column(sa.String(NAME))
    to_stage: Mapped[str] = mapped_column(sa.String(NAME))
    kind: Mapped[str] = mapped_column(sa.String(CODE))
    actor: Mapped[str] = mapped_column(sa.String(ID))
    reason: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[dict[str, Any]]


class RolloutEvaluationRow(Base):
    """One evaluation of the gates over a window, whatever its outcome."""

    __tablename__ = "rollout_evaluations"
    __table_args__ = (sa.Index("ix_rollout_evaluations_ts", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ts: Mapped[int]
    stage: Mapped[str] = mapped_column(sa.String(NAME))
    window_start: Mapped[int]
    outcome: Mapped[str] = mapped_column(sa.String(CODE))
    reason: Mapped[str] = mapped_column(sa.Text)
    results: Mapped[dict[str, Any]]


rollout_state = RolloutStateRow.__table__
rollout_transitions = RolloutTransitionRow.__table__
rollout_evaluations = RolloutEvaluationRow.__table__
