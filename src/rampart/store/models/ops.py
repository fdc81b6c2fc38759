"""Tables of revision 0005: operations records the launch checklist, reports and gates read."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import CODE, ID, NAME, AutoId, Col, metadata

# Something an operator or the service did that a checklist asks about later.
#
# ``kind`` is one of :mod:`rampart.store.ops_records`'s names (``backup_created``,
# ``restore_drill``, ``alert_test``, ``kill_drill``, …); ``detail`` holds its figures.
ops_events = sa.Table(
    "ops_events",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("kind", sa.String(NAME)),
    Col("ts", sa.BigInteger),
    Col("actor", sa.String(ID)),
    Col("detail", sa.JSON),
    sa.Index("ix_ops_events_kind_ts", "kind", "ts"),
)


# One stretch of the service running: from its start to its latest heartbeat.
uptime_spans = sa.Table(
    "uptime_spans",
    metadata,
    Col("id", AutoId, primary_key=True, autoincrement=True),
    Col("started_at", sa.BigInteger),
    Col("last_beat_at", sa.BigInteger),
    sa.Index("ix_uptime_spans_last_beat_at", "last_beat_at"),
)


# The latest slot a scheduled job ran for, so a restart neither skips nor repeats it.
scheduler_runs = sa.Table(
    "scheduler_runs",
    metadata,
    Col("job", sa.String(NAME), primary_key=True),
    Col("last_slot", sa.BigInteger),
    Col("last_run_at", sa.BigInteger),
    Col("status", sa.String(CODE)),
    Col("detail", sa.Text),
)


# The running service's business time, so commands in another process read the same axis.
#
# ``simulated`` says the time is a simulated feed's (the last candle's close), which stops
# while the service is down; otherwise the service runs on the wall clock.
service_clock = sa.Table(
    "service_clock",
    metadata,
    Col("name", sa.String(NAME), primary_key=True),
    Col("simulated", sa.Boolean),
    Col("now_ms", sa.BigInteger),
    # When it was written, on the wall clock: how old the reading is.
    Col("wall_ms", sa.BigInteger),
)
