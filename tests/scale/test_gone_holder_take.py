"""A holder whose process was killed loses its shard at the next round, not at its lease's end
(trading back within 10 s of a kill -9; PostgreSQL).

The holder is a real process holding a database session under its worker's name, as a
worker's pool does. Killed with SIGKILL, its kernel closes the socket and the server ends the
session; stopped with SIGSTOP, the session stays and so does the shard. The lease clock never
moves: only the holder's sessions decide."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.store.db import bound_waits, open_database
from rampart.store.frozen_sessions import session_name
from rampart.store.leases import FencedOut, ShardLeases
from rampart.store.presence import gone_holders

TTL_MS = 5_000
"""The lease clock never moves, so a shard taken here was taken before its lease ran out; also
how long the server must have been up before anyone is judged gone."""

HOLDER = """
import sys, sqlalchemy as sa
from rampart.store.db import bound_waits, open_database
engine = open_database(sys.argv[1])
bound_waits(engine, 60_000, name=sys.argv[2])
with engine.connect() as conn:
    conn.execute(sa.text("SELECT 1"))
    print("ready", flush=True)
    sys.stdin.read()
"""


def _sessions(engine: sa.Engine, name: str) -> int:
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n")
    with engine.connect() as conn:
        return int(conn.execute(query, {"n": name}).scalar() or 0)


def _until_no_session(engine: sa.Engine, name: str) -> None:
    """The server ends a killed client's session as soon as it reads the closed socket."""
    deadline = time.monotonic() + 30  # a hang guard, not a timing
    while _sessions(engine, name):
        assert time.monotonic() < deadline, f"{name}'s session outlived its process"
        time.sleep(0.05)


@pytest.fixture
def fleet(pg_url: str) -> Iterator[tuple[ShardLeases, ShardLeases, subprocess.Popen[str]]]:
    """w-a (shard 0, a lease far from its end, its session held by a process of its own) and
    w-b, a taker that judges holders by their sessions."""
    names = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    clock = SimClock(time.time_ns() // 1_000_000)
    a_db, b_db = open_database(pg_url), open_database(pg_url)
    bound_waits(b_db, 60_000, name=session_name(names[1]))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, pg_url, session_name(names[0])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        a = ShardLeases(a_db, names[0], clock, TTL_MS)
        b = ShardLeases(b_db, names[1], clock, TTL_MS, early=True)
        a.ensure(1)
        for worker in (a, b):
            worker.beat()
        assert a.acquire(0) is not None
        yield a, b, holder
    finally:
        holder.kill()
        holder.wait()
        a_db.dispose()
        b_db.dispose()


def test_a_killed_holders_shard_is_taken_at_the_next_round(
    fleet: tuple[ShardLeases, ShardLeases, subprocess.Popen[str]],
) -> None:
    a, b, holder = fleet
    assert b.step(grace_ms=1_000).gained == ()  # alive: its session is there
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    _until_no_session(b.engine, session_name(a.owner))
    took = b.step(grace_ms=1_000)
    assert took.gained == (0,)
    assert b.leases[0].token == a.leases[0].token + 1
    # The killed holder's token no longer writes (were it only thought gone, it is fenced).
    with pytest.raises(FencedOut), a.engine.begin() as conn:
        a.fence(conn, [0])


def test_a_stopped_holder_keeps_its_shard_until_its_lease_ends(
    fleet: tuple[ShardLeases, ShardLeases, subprocess.Popen[str]],
) -> None:
    a, b, holder = fleet
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        assert b.step(grace_ms=1_000).gained == ()
        assert b.step(grace_ms=1_000).gained == ()
    finally:
        os.kill(holder.pid, signal.SIGCONT)
    with a.engine.begin() as conn:
        a.fence(conn, [0])  # still its own


def test_a_taker_not_judging_by_sessions_waits_for_the_lease(
    fleet: tuple[ShardLeases, ShardLeases, subprocess.Popen[str]],
) -> None:
    a, b, holder = fleet
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    _until_no_session(b.engine, session_name(a.owner))
    b.early = False  # scale.early_takeover off (a pooler sharing sessions)
    assert b.step(grace_ms=1_000).gained == ()
    b.clock.advance(TTL_MS)  # type: ignore[attr-defined]
    assert b.step(grace_ms=1_000).gained == (0,)


def test_nothing_is_judged_gone_on_a_server_up_less_than_a_lease(
    fleet: tuple[ShardLeases, ShardLeases, subprocess.Popen[str]],
) -> None:
    """After a restart of PostgreSQL every session is new and some workers have not come back
    yet: the server's uptime is what the judgement waits for."""
    a, b, holder = fleet
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    _until_no_session(b.engine, session_name(a.owner))
    assert gone_holders(b.engine, {a.owner}, settled_ms=0) == {a.owner}
    century_ms = 100 * 365 * 86_400_000
    assert gone_holders(b.engine, {a.owner}, settled_ms=century_ms) == set()
    assert gone_holders(b.engine, {b.owner}, settled_ms=0) == set()  # its own sessions


def test_a_killed_worker_holding_nothing_is_left_out_of_the_share(
    fleet: tuple[ShardLeases, ShardLeases, subprocess.Popen[str]],
) -> None:
    """Its heartbeat is recent for a lease after its shards were taken: counted, it made the
    survivor's share smaller, and what was just taken went back and waited for a taker."""
    a, b, holder = fleet
    a.release(a.leases[0])
    a.ensure(2)
    a.beat()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    _until_no_session(b.engine, session_name(a.owner))
    assert b.workers() == {a.owner, b.owner}  # its heartbeat still counts it alive
    took = b.step(grace_ms=1_000, free_grace_ms=TTL_MS)
    assert took.gained == (0, 1)  # the whole share of the one worker left, at once
