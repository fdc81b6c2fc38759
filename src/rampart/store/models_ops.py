"""Tables of revision 0005: operations records the launch checklist, reports and gates read."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rampart.store.models import CODE, ID, NAME, AutoId, Base


class OpsEventRow(Base):
    """Something an operator or the service did that a checklist asks about later.

    ``kind`` is one of :mod:`rampart.store.ops_records`'s names (``backup_created``,
    ``restore_drill``, ``alert_test``, ``kill_drill``, …); ``detail`` holds its figures.
    """

    __tablename__ = "ops_events"
    __table_args__ = (sa.Index("ix_ops_events_kind_ts", "kind", "ts"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(NAME))
    ts: Mapped[int]
    actor: Mapped[str] = mapped_column(sa.String(ID))
    detail: Mapped[dict[str, Any]]


class UptimeSpanRow(Base):
    """One stretch of the service running: from its start to its latest heartbeat."""

    __tablename__ = "uptime_spans"
    __table_args__ = (sa.Index("ix_uptime_spans_last_beat_at", "last_beat_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    started_at: Mapped[int]
    last_beat_at: Mapped[int]


class SchedulerRunRow(Base):
    """The latest slot a scheduled job ran for, so a restart neither skips nor repeats it."""

    __tablename__ = "scheduler_runs"

    job: Mapped[str] = mapped_column(sa.String(NAME), primary_key=True)
    last_slot: Mapped[int]
    last_run_at: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(CODE))
    detail: Mapped[str] = mapped_column(sa.Text)


class ServiceClockRow(Base):
    """The running service's business time, so commands in another process read the same axis.

    ``simulated`` says the time is a simulated feed's (the last candle's close), which stops
    while the service is down; otherwise the service runs on the wall clock.
    """

    __tablename__ = "service_clock"

    name: Mapped[str] = mapped_column(sa.String(NAME), primary_key=True)
    simulated: Mapped[bool]
    now_ms: Mapped[int]
    wall_ms: Mapped[int]
    """When it was written, on the wall clock: how old the reading is."""


ops_events = OpsEventRow.__table__
uptime_spans = UptimeSpanRow.__table__
scheduler_runs = SchedulerRunRow.__table__
service_clock = ServiceClockRow.__table__
