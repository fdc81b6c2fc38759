"""Tables of revision 0031: shard leases with the fencing token of each, and the workers'
heartbeats."""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.models.columns import ID, Col, metadata

# One row per shard. ``owner`` is the worker holding it ("" when free) until ``expires_ms``
# (UTC ms on the wall clock); ``token`` grows by one at every acquisition and never goes
# back, so a write or an order carrying an older token comes from a worker that lost the
# shard and is refused (rampart.store.leases).
shard_leases = sa.Table(
    "shard_leases",
    metadata,
    Col("shard", sa.Integer, primary_key=True, autoincrement=False),
    Col("owner", sa.String(ID)),
    Col("token", sa.BigInteger),
    Col("expires_ms", sa.BigInteger),
    Col("acquired_ms", sa.BigInteger),
)

# Every worker's heartbeat, written at each renewal round: a worker that holds no shard yet is
# still counted when the others work out their fair share, so they give some back to it.
scale_workers = sa.Table(
    "scale_workers",
    metadata,
    Col("name", sa.String(ID), primary_key=True),
    Col("seen_ms", sa.BigInteger),
    Col("started_ms", sa.BigInteger),
    # Revision 0032: the version of Rampart the worker runs, and whether it trades or waits
    # as a blue-green standby (``rampart deploy``).
    Col("version", sa.String(ID)),
    Col("role", sa.String(32)),
    # Revision 0033: where the worker serves its Prometheus metrics ("" when it serves none, or
    # once it left cleanly); the server holding the ops lease scrapes it for the fleet's alerts.
    Col("metrics_url", sa.String(512)),
)

# Revision 0032. What every worker must apply whichever shards it holds and whenever it takes
# one: the kill switch an operator engaged through ``rampart serve`` (key ``controls``) and the
# blue-green deploy in progress (key ``deploy``). One JSON document per key; the command stream
# carries the change at once, this row carries it to a worker that was away or starts later.
scale_state = sa.Table(
    "scale_state",
    metadata,
    Col("key", sa.String(ID), primary_key=True),
    Col("payload", sa.JSON),
    Col("changed_ms", sa.BigInteger),
)
