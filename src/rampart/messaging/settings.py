"""``scale:`` settings: running past one machine (``rampart feed``, ``rampart worker``,
``rampart serve``; docs/operators/scale.md). ``rampart run`` reads none of them."""

from __future__ import annotations

from pydantic import Field, model_validator

from rampart.settings_base import Section, refusal


class ScaleConfig(Section):
    nats_url: str = "nats://127.0.0.1:4222"
    """The NATS server with JetStream that carries market data and commands."""
    shards: int = Field(default=16, ge=1, le=4096)
    """Accounts are spread over this many shards (a stable hash of the account id); a worker
    trades the shards it holds a lease on. Fixed for a database's life: changing it moves
    accounts between shards."""
    lease_s: float = Field(default=6.0, gt=0)
    """How long a shard's lease lasts without renewal: a worker that stops renewing loses its
    shards to the others this long after its last renewal."""
    protect_away_s: float = Field(default=60.0, ge=0)
    """While the database does not answer, a worker goes on placing and amending the stops of
    the coins its shards already hold (never entries) for this long past the end of the lease
    it last renewed; then it stops acting on the shard until the database is back."""
    early_takeover: bool = True
    """A worker whose every database session has ended (its process was killed; the kernel
    closes a dead process's connections) loses its shards at the others' next round, not at
    its lease's end. A stopped or stalled process keeps its sessions and waits out its lease.
    Turn off when workers reach PostgreSQL through a pooler that shares server sessions
    between clients (PgBouncer in transaction mode): a session there is not a process."""
    renew_every_s: float = Field(default=1.0, gt=0)
    """How often a worker rebalances (takes free or expired shards, gives back above its fair
    share); a thread of its own renews its leases and records its heartbeat every half of it,
    whatever its trading is doing."""
    command_stale_s: float = Field(default=5.0, gt=0)
    """A worker that has heard no heartbeat of the command stream for this long stops opening
    positions (commands such as a kill switch may not be reaching it)."""
    ack_timeout_s: float = Field(default=2.0, gt=0)
    """How long a command waits for every owning worker's acknowledgement before the answer
    names the ones that have not applied it."""
    market_keep: int = Field(default=1_000, ge=50)
    """Candles JetStream keeps per symbol: what a worker starting or taking a shard over warms
    its agents with (at least ``engine.history``)."""
    mirror_every_s: float = Field(default=2.0, gt=0)
    """How often ``rampart serve`` loads the shards' newest checkpoints for what it shows."""
    replicas: int = Field(default=1, ge=1, le=5)
    """JetStream replicas of the streams Rampart creates (3 on a NATS cluster)."""
    metrics_port: int = Field(default=0, ge=0, le=65535)
    """A worker serves its Prometheus metrics (orders, errors, shards held, lease age,
    takeovers, fenced refusals, consumer lag …) on this port at ``/metrics``; 0: a free port
    the system picks. Its address goes into the worker's heartbeat row, and the ``rampart
    serve`` holding the ops lease scrapes it for the fleet's alerts."""
    metrics_host: str = "127.0.0.1"
    """The address it listens on: the servers must reach it (a machine's own address, or
    ``0.0.0.0`` to listen on all, then named by the machine's host name)."""
    feed_lease_s: float = Field(default=5.0, gt=0)
    """How long the feeds' leader lease lasts without renewal (``rampart feed`` run as a pair):
    a standby feed starts publishing at most this long (plus one ``renew_every_s``) after the
    leader died or froze."""
    feed_metrics_port: int = Field(default=0, ge=0, le=65535)
    """``rampart feed`` serves its metrics (link to NATS, leader or standby, candles published)
    on this port at ``/metrics``, at ``metrics_host``, for a Prometheus to scrape; 0: none."""
    worker_name: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    """This process's name among the workers (default: host name and process id)."""

    @model_validator(mode="after")
    def _renew_inside_lease(self) -> ScaleConfig:
        if self.renew_every_s * 2 > self.lease_s:
            raise refusal(
                f"scale.renew_every_s ({self.renew_every_s:g}) must be at most half of "
                f"scale.lease_s ({self.lease_s:g}): a worker must renew at least twice per lease"
            )
        if self.renew_every_s * 2 > self.feed_lease_s:
            raise refusal(
                f"scale.renew_every_s ({self.renew_every_s:g}) must be at most half of "
                f"scale.feed_lease_s ({self.feed_lease_s:g}): a feed must renew at least twice "
                "per lease"
            )
        return self


__all__ = ["ScaleConfig"]
