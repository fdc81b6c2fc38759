"""Shard leases in the database, each with a fencing token.

A worker trades the accounts of the shards it holds (:mod:`rampart.domain.shards`). Holding
is a row of ``shard_leases`` naming it until ``expires_ms``; it renews before then. Taking a
shard is one ``UPDATE … WHERE owner = '' OR expires_ms <= now`` that also adds one to the
shard's ``token``: the database serialises the updates of a row, so two workers racing for a
shard cannot both win (on PostgreSQL the loser's update re-reads the winner's row and no longer
matches; SQLite writes one at a time).

The token is the fence. A worker that stopped renewing (a crash, a pause, a partition) and
comes back still holds its old token, while the shard's row carries the new owner's higher
one: every write it makes checks its tokens in the same transaction (:meth:`ShardLeases.fence`,
a shared row lock on PostgreSQL so a takeover waits for the write to commit or the write sees
the takeover) and is refused with :class:`FencedOut`, and it sends no order once its lease has
run out on the clock (:meth:`ShardLeases.valid`).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy import exc

from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.domain.shards import FREE, Holder, plan
from rampart.store.dialects import dialect_insert
from rampart.store.errors import explain
from rampart.store.frozen_sessions import end_frozen, lock_timed_out
from rampart.store.models.scale import scale_workers as w
from rampart.store.models.scale import shard_leases as t
from rampart.store.presence import gone_holders
from rampart.store.workers import (
    Worker,
    beat_instance,
    leave_instance,
    worker_rows,
    workers_seen,
)

T = TypeVar("T")
log = structlog.get_logger("rampart.store.leases")


class FencedOut(StoreError):
    """A write or an order from a worker whose lease on a shard another worker has taken."""

    def __init__(self, owner: str, shard: int, token: int, current: int, holder: str) -> None:
        super().__init__(
            f"Worker {owner} no longer holds shard {shard} (its token {token}; {holder or 'no one'}"
            f" holds it with token {current}): its write was refused, nothing of it was saved."
        )
        self.shard = shard


class FencedOutAtRenewal(FencedOut):
    """The shard was found taken at a renewal already (or was never held), so the write is
    refused without reading the table, and there is no current holder's token to name."""

    def __init__(self, owner: str, shard: int) -> None:
        StoreError.__init__(
            self,
            f"Worker {owner} no longer holds shard {shard} (it was found taken at a lease "
            "renewal): its write was refused, nothing of it was saved.",
        )
        self.shard = shard


@dataclass(frozen=True, slots=True)
class Lease:
    shard: int
    token: int
    expires_ms: int


@dataclass(frozen=True, slots=True)
class Step:
    """What one renewal round did."""

    held: tuple[Lease, ...]
    gained: tuple[int, ...]
    lost: tuple[int, ...]
    """Shards this worker held and found taken by another (its accounts must stop now)."""
    released: tuple[int, ...]
    unheld_ms: dict[int, int] = field(default_factory=dict)
    """Of the shards gained, how long each had been without a holder: since its lease ran
    out, or since this worker first saw it free."""


OPS = -1
"""The lease of the one ``rampart serve`` that runs the scheduler (reports, backups): a row of
the same table, below the shards, which no worker plans for."""


def lease_table(engine: sa.Engine, *, shards_only: bool = True) -> dict[int, Holder]:
    """Every shard's holder, as stored (and the ops lease's, unless ``shards_only``)."""
    query = sa.select(t.c.shard, t.c.owner, t.c.token, t.c.expires_ms)
    if shards_only:
        query = query.where(t.c.shard >= 0)
    with engine.connect() as conn:
        found = conn.execute(query)
        return {
            int(r["shard"]): Holder(str(r["owner"]), int(r["token"]), int(r["expires_ms"]))
            for r in found.mappings()
        }


LOCK_WAIT_MS = 1_000
"""How long a takeover waits for a shard row another worker's write holds (PostgreSQL): past
it the round gives up and tries again at the next, so a worker never stalls its own renewals
behind a peer that froze mid-write (whose session the server ends:
:func:`rampart.store.db.bound_waits`)."""


def _bounded(conn: sa.Connection) -> sa.Connection:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}")
    return conn


class ShardLeases:
    """The leases worker ``owner`` holds, ``ttl_ms`` long, on ``clock`` (liveness: the wall
    clock, which every worker shares)."""

    def __init__(
        self,
        engine: sa.Engine,
        owner: str,
        clock: Clock,
        ttl_ms: int,
        *,
        version: str = "",
        role: str = "active",
        metrics_url: str = "",
        early: bool = False,
    ) -> None:
        if not owner:
            raise ValueError("a worker has a name")
        self.engine = engine
        self.owner = owner
        self.version = version
        """The Rampart version this worker runs (``rampart deploy`` moves shards by it)."""
        self.role = role
        """``active`` (trades its fair share) or ``standby`` (a new version waiting for a deploy
        step to give it shards)."""
        self.metrics_url = metrics_url
        """Where this worker serves its metrics, written with each heartbeat for the server
        holding the ops lease to scrape (:mod:`rampart.fleet.alerts`)."""
        self.instance = uuid.uuid4().hex
        """This process's own id: its heartbeat row apart from a same-named twin's."""
        self.started_ms = 0
        """Its first heartbeat (0 before it)."""
        self.clock = clock
        self.ttl_ms = ttl_ms
        self.early = early
        self._gone_told: set[str] = set()
        """Take a holder's shards before its lease runs out once its database sessions are all
        gone (:mod:`rampart.store.presence`): for workers whose sessions carry their names."""
        self.leases: dict[int, Lease] = {}
        """The shards this worker holds, as it last renewed them."""
        self.fenced = 0
        """Writes refused because a lease had been taken over."""
        self._mutex = threading.RLock()
        """Renewals may run in one thread while a round plans in another (a worker renews
        while it opens a shard, which can outlast a lease). Never taken by :meth:`fence`,
        which runs inside a write transaction that a renewal's row update may wait on."""
        self.free_since: dict[int, int] = {}
        """When this worker's rounds first saw each free shard free (what the grace of a take
        above the fair share counts from)."""
        self.away_since_ms: int | None = None
        """Since when (this clock) every renewal has failed on the store (the database away);
        None once one gets through."""
        self.taken: set[int] = set()
        """Shards a fenced write found taken by another worker: no longer :meth:`valid`, and
        dropped from :attr:`leases` at the next renewal (a write's thread only adds here)."""

    # -- the table ----------------------------------------------------------------------------

    def ensure(self, shards: int, *, ops: bool = False) -> None:
        """Make the rows of shards 0 … ``shards`` - 1 exist (free), and the ops lease's with
        ``ops``; existing ones are kept."""
        insert = dialect_insert(self.engine.dialect.name)
        rows = [
            {"shard": s, "owner": FREE, "token": 0, "expires_ms": 0, "acquired_ms": 0}
            for s in ([OPS] if ops else []) + list(range(shards))
        ]
        self._run(lambda c: c.execute(insert(t).on_conflict_do_nothing(), rows))

    def beat(self) -> None:
        """Say this worker is alive (the others count it in their fair share)."""
        now = self.clock.now_ms()
        row = {"version": self.version, "role": self.role, "metrics_url": self.metrics_url}
        ins = dialect_insert(self.engine.dialect.name)(w).values(
            name=self.owner, seen_ms=now, started_ms=now, **row
        )
        stmt = ins.on_conflict_do_update(index_elements=[w.c.name], set_={"seen_ms": now, **row})

        def write(c: sa.Connection) -> None:
            c.execute(stmt)
            started = self.started_ms = self.started_ms or now
            beat_instance(c, self.instance, self.owner, started, now, self.metrics_url)

        self._run(write)

    def leave(self) -> None:
        """Say this worker stopped on purpose: its metrics are no longer served, and the
        fleet's alerts do not count it as a worker down."""
        stmt = sa.update(w).where(w.c.name == self.owner).values(metrics_url="")

        def write(c: sa.Connection) -> None:
            c.execute(stmt)
            leave_instance(c, self.instance)

        self._run(write)

    def workers(self) -> set[str]:
        """The workers seen within a lease's length."""
        since = self.clock.now_ms() - self.ttl_ms
        return {name for name, seen in self._read(workers_seen).items() if seen > since}

    def seen(self) -> dict[str, Worker]:
        """The workers seen within a lease's length, with their version and role."""
        since = self.clock.now_ms() - self.ttl_ms
        return {n: w for n, w in self._read(worker_rows).items() if w.seen_ms > since}

    def table(self) -> dict[int, Holder]:
        return self._read(lease_table)

    # -- one lease ----------------------------------------------------------------------------

    def acquire(self, shard: int) -> Lease | None:
        """Take ``shard`` if it is free or its lease ran out; its new token, or None."""
        with self._mutex:
            return self._acquire(shard)

    def _acquire(self, shard: int, gone: Collection[str] = ()) -> Lease | None:
        """As :meth:`acquire`, and also from a holder in ``gone`` whose lease still runs."""
        now = self.clock.now_ms()
        takeable = [t.c.owner == FREE, t.c.expires_ms <= now]
        if gone:
            takeable.append(t.c.owner.in_(sorted(gone)))
        stmt = (
            sa.update(t)
            .where(t.c.shard == shard, sa.or_(*takeable))
            .values(owner=self.owner, token=t.c.token + 1, expires_ms=now + self.ttl_ms)
            .values(acquired_ms=now)
            .returning(t.c.token)
        )
        try:
            token = self._run(lambda c: _bounded(c).execute(stmt).scalar())
        except StoreError as err:
            if not lock_timed_out(err.__cause__):
                raise
            # The holder's write holds the row: a frozen holder's is ended (its lease has run
            # out, so its write could not commit anyway) and the take tried once more.
            holder = self._read(lease_table).get(shard)
            if holder is None or holder.owner == FREE or holder.expires_ms > now:
                return None
            if not end_frozen(self.engine, holder.owner, holder.expires_ms):
                return None
            try:
                token = self._run(lambda c: _bounded(c).execute(stmt).scalar())
            except StoreError as again:
                if lock_timed_out(again.__cause__):
                    return None
                raise
        if token is None:
            return None
        lease = self.leases[shard] = Lease(shard, int(token), now + self.ttl_ms)
        return lease

    def renew(self, lease: Lease) -> Lease | None:
        """Extend ``lease``; None when another worker has taken the shard since (its token
        moved on). A lease that ran out but that nobody took is still this worker's."""
        with self._mutex:
            return self._renew(lease)

    def _renew(self, lease: Lease) -> Lease | None:
        now = self.clock.now_ms()
        stmt = (
            sa.update(t)
            .where(t.c.shard == lease.shard, t.c.owner == self.owner, t.c.token == lease.token)
            .values(expires_ms=now + self.ttl_ms)
        )
        if self._run(lambda c: c.execute(stmt).rowcount) != 1:
            self.leases.pop(lease.shard, None)
            return None
        renewed = self.leases[lease.shard] = Lease(lease.shard, lease.token, now + self.ttl_ms)
        return renewed

    def release(self, lease: Lease) -> None:
        """Give ``shard`` back at once (a clean handover or a rebalance), if still held."""
        with self._mutex:
            self._release(lease)

    def _release(self, lease: Lease) -> None:
        stmt = (
            sa.update(t)
            .where(t.c.shard == lease.shard, t.c.owner == self.owner, t.c.token == lease.token)
            .values(owner=FREE, expires_ms=0)
        )
        self._run(lambda c: c.execute(stmt))
        self.leases.pop(lease.shard, None)

    # -- a round ------------------------------------------------------------------------------

    def step(
        self,
        *,
        take: bool = True,
        release: bool = True,
        eligible: Collection[int] | None = None,
        peers: Callable[[Worker], bool] | None = None,
        grace_ms: int | None = None,
        free_grace_ms: int | None = None,
        rebalance: bool = True,
    ) -> Step:
        """One renewal round: renew what is held, give back what is above the fair share,
        take free or expired shards up to it (unless ``take`` is false: a worker not ready to
        trade yet only renews). With ``release`` false the shards to give back are returned in
        :attr:`Step.released` still held: the caller writes their checkpoint first, then
        :meth:`release`-s each. ``eligible``: the shards this worker may hold in a blue-green
        deploy, shared with the live workers ``peers`` accepts (by default those of its
        version). ``grace_ms``, ``free_grace_ms`` and ``rebalance``: as
        :func:`~rampart.domain.shards.plan` reads them (unheld that long, a shard is taken above
        the share; a free shard's wait counts from when this worker first saw it free)."""
        with self._mutex:
            lost = self._keep()
            if eligible is None:
                sharing = self.workers()
            else:
                accept = peers or (lambda w: w.version == self.version)
                sharing = {n for n, w in self.seen().items() if accept(w)}
            now = self.clock.now_ms()
            table = self.table()
            gone = self._gone(table, now, sharing)
            if gone:  # their leases count as run out now, and they share nothing
                sharing = set(sharing) - gone
                table = {
                    s: Holder(h.owner, h.token, now) if h.owner in gone else h
                    for s, h in table.items()
                }
            for shard, holder in table.items():
                if holder.owner == FREE:
                    self.free_since.setdefault(shard, now)
                else:
                    self.free_since.pop(shard, None)
            wanted = plan(
                table,
                self.owner,
                now,
                sharing,
                eligible,
                grace_ms=grace_ms,
                free_since=self.free_since,
                free_grace_ms=free_grace_ms,
                rebalance=rebalance,
            )
            if release:
                for shard in wanted.give_back:
                    self._release(self.leases[shard])
        # One take at a time under the mutex: a take may wait on a peer's row lock
        # (LOCK_WAIT_MS), and renewals on another thread must not wait for every take.
        gained = []
        for shard in wanted.take if take else ():
            with self._mutex:
                if self._acquire(shard, gone) is not None:
                    gained.append(shard)
        with self._mutex:
            held = tuple(self.leases[s] for s in sorted(self.leases))
        unheld = {s: now - self.free_since.get(s, now) for s in gained if table[s].owner == FREE}
        unheld |= {s: now - table[s].expires_ms for s in gained if table[s].owner != FREE}
        return Step(held, tuple(gained), tuple(lost), wanted.give_back, unheld)

    def _gone(self, table: dict[int, Holder], now: int, sharing: Collection[str]) -> set[str]:
        """Holders and sharers with no session left. A killed worker's heartbeat stays recent
        for a lease after its shards were all taken: counted in the share meanwhile, it made
        the survivors hand back what they had just taken (a shard resumed 16 s after a kill)."""
        if not self.early:
            return set()
        others = {h.owner for h in table.values() if h.live(now)} | set(sharing)
        gone = gone_holders(self.engine, others - {self.owner}, self.ttl_ms)
        if gone - self._gone_told:  # once per worker gone, not at every round for a lease
            log.warning("holders_gone", worker=self.owner, gone=sorted(gone))
        self._gone_told = gone
        return gone

    def keep(self) -> list[int]:
        """Heartbeat and renew every held lease, nothing else; the shards found lost."""
        with self._mutex:
            return self._keep()

    def _keep(self) -> list[int]:
        try:
            self.beat()
            lost = [s for s, lease in sorted(self.leases.items()) if self._renew(lease) is None]
        except StoreError:
            if self.away_since_ms is None:
                self.away_since_ms = self.clock.now_ms()
            raise
        self.away_since_ms = None
        self.taken.clear()
        return lost

    def valid(self, shard: int) -> bool:
        """Whether this worker may still act on ``shard`` by its own clock: held, and not past
        the end of the lease it last renewed (a paused worker wakes up past it)."""
        lease = self.leases.get(shard)
        return (
            lease is not None and shard not in self.taken and self.clock.now_ms() < lease.expires_ms
        )

    def protects(self, shard: int, grace_ms: int) -> bool:
        """Whether this worker may still place and amend the protective orders of coins the
        shard already holds: while its lease is :meth:`valid`, and while the renewals fail
        because the database does not answer, up to ``grace_ms`` past the end of the lease it
        last renewed (by its own clock), unless a write found the shard taken. Only renewals
        that began failing while the lease still held count: a worker frozen past its lease
        (SIGSTOP, a paused machine) whose first renewal after it fails is not covering, its
        shards are another's by then. Entries never pass on this (docs/operators/scale.md,
        "The database away")."""
        if self.valid(shard):
            return True
        lease = self.leases.get(shard)
        away = self.away_since_ms
        return (
            away is not None
            and lease is not None
            and away < lease.expires_ms
            and shard not in self.taken
            and self.clock.now_ms() < lease.expires_ms + grace_ms
        )

    # -- fencing ------------------------------------------------------------------------------

    def fence(self, conn: sa.Connection, shards: Iterable[int] | None = None) -> None:
        """Inside a write transaction: refuse it (:class:`FencedOut`) unless every shard in
        ``shards`` (default: all held) still carries this worker's token."""
        wanted = sorted(self.leases if shards is None else set(shards))
        for shard in wanted:
            if shard not in self.leases:  # lost at a renewal already
                self.fenced += 1
                raise FencedOutAtRenewal(self.owner, shard)
        mine = {s: self.leases[s] for s in wanted}
        if not mine:
            return
        query = sa.select(t.c.shard, t.c.owner, t.c.token).where(t.c.shard.in_(list(mine)))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(read=True)  # a takeover waits for this write
        for row in conn.execute(query).mappings():
            lease, token, holder = mine[row["shard"]], int(row["token"]), str(row["owner"])
            if token != lease.token or holder != self.owner:
                self.fenced += 1  # the next renewal round reports the shard lost
                self.taken.add(lease.shard)
                raise FencedOut(self.owner, lease.shard, lease.token, token, holder)

    def _read(self, query: Callable[[sa.Engine], T]) -> T:
        """A read of the tables, failing as every lease write does: a StoreError the rounds
        ride out (a raw driver error, as the database shut down, ended the worker)."""
        try:
            return query(self.engine)
        except exc.SQLAlchemyError as err:
            raise StoreError(
                f"The shard leases could not be read or written: {explain(err)}."
            ) from err

    def _run(self, work: Callable[[sa.Connection], T]) -> T:
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except exc.SQLAlchemyError as err:
            raise StoreError(
                f"The shard leases could not be read or written: {explain(err)}."
            ) from err


__all__ = [
    "OPS",
    "FencedOut",
    "Lease",
    "ShardLeases",
    "Step",
    "lease_table",
]
