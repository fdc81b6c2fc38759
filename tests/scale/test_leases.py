"""Shard leases with fencing tokens, on SQLite and PostgreSQL: a worker that stops
renewing loses its shards to the others within the lease's length on the business clock, and
its late writes are refused by the token, never saved beside the new owner's."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.clock import SimClock
from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import FencedOut, ShardLeases
from rampart.store.writer import StoreWriter
from tests.store.factories import entry_order

TTL_MS = 10_000
SHARDS = 4


@pytest.fixture
def db(db_url: str) -> Iterator[sa.Engine]:
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _orders(db: sa.Engine) -> int:
    with db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(m.orders)).scalar_one()


def _order_event(seq: int) -> OrderUpdated:
    order = entry_order(seq)
    return OrderUpdated(order.created_at, order, OrderStatus.NEW)


def test_a_stopped_worker_loses_its_shards_and_its_late_write_is_fenced(db: sa.Engine) -> None:
    clock = SimClock(1_000)
    a = ShardLeases(db, "worker-a", clock, TTL_MS)
    b = ShardLeases(db, "worker-b", clock, TTL_MS)
    a.ensure(SHARDS)
    b.ensure(SHARDS)  # a second call keeps what is there

    assert [lease.shard for lease in a.step().held] == [0, 1, 2, 3]  # alone: every shard
    assert b.step().gained == ()  # a's leases are live: nothing is taken from it
    clock.advance(1_000)
    assert a.step().released == (2, 3)  # two workers: a gives back above its share
    assert b.step().gained == (2, 3)
    assert {s: h.owner for s, h in b.table().items()} == {
        0: "worker-a",
        1: "worker-a",
        2: "worker-b",
        3: "worker-b",
    }

    # a stops renewing (a crash, a pause): b renews every 3 s and takes a's shards as soon
    # as a's leases have run out, and not before.
    late = StoreWriter(db, fence=a.fence)
    stopped_at = clock.now_ms()
    taken_at = None
    while taken_at is None:
        clock.advance(3_000)
        if b.step().gained:
            taken_at = clock.now_ms()
    assert TTL_MS <= taken_at - stopped_at < TTL_MS + 3_000
    table = b.table()
    assert {h.owner for h in table.values()} == {"worker-b"}
    assert table[0].token == 2 and table[2].token == 2  # each acquisition moved the token

    # a wakes up: by its own clock it may not act, and what it writes is refused.
    assert not a.valid(0)
    late(_order_event(1))
    with pytest.raises(FencedOut, match="no longer holds shard 0"):
        late.flush()
    assert _orders(db) == 0 and late.pending == 0  # refused and dropped, never retried
    assert a.fenced == 1
    assert a.step().lost == (0, 1)  # its renewal finds the tokens moved on

    fresh = StoreWriter(db, fence=b.fence)
    fresh(_order_event(2))
    assert fresh.flush() == 2 and _orders(db) == 1


def test_a_write_checks_the_token_not_the_clock(db: sa.Engine) -> None:
    """A lease that ran out but that nobody took is still the worker's: its write goes in, and
    its renewal keeps the same token (nothing happened in between that a fence must stop)."""
    clock = SimClock(0)
    a = ShardLeases(db, "worker-a", clock, TTL_MS)
    a.ensure(1)
    [lease] = a.step().held
    clock.advance(TTL_MS * 3)
    writer = StoreWriter(db, fence=a.fence)
    writer(_order_event(1))
    assert writer.flush() == 2
    renewed = a.renew(lease)
    assert renewed is not None and renewed.token == lease.token


def test_tokens_only_grow_and_a_release_hands_over_at_once(db: sa.Engine) -> None:
    clock = SimClock(0)
    a = ShardLeases(db, "worker-a", clock, TTL_MS)
    b = ShardLeases(db, "worker-b", clock, TTL_MS)
    a.ensure(1)
    tokens = []
    for turn in range(6):
        holder = a if turn % 2 == 0 else b
        lease = holder.acquire(0)
        assert lease is not None
        assert (b if holder is a else a).acquire(0) is None  # held and live: not taken
        tokens.append(lease.token)
        holder.release(lease)  # a clean handover: free at once, no waiting for the TTL
    assert tokens == [1, 2, 3, 4, 5, 6]


def test_two_workers_racing_for_a_shard_never_both_win(db: sa.Engine) -> None:
    clock = SimClock(0)
    workers = [ShardLeases(db, f"worker-{n}", clock, TTL_MS) for n in range(2)]
    workers[0].ensure(1)
    for _round in range(15):
        start = threading.Barrier(len(workers))
        won: list[str] = []
        threads = [threading.Thread(target=_race, args=(w, start, won)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1, won
        clock.advance(TTL_MS)  # the winner's lease runs out: the next round races again


def _race(worker: ShardLeases, start: threading.Barrier, won: list[str]) -> None:
    start.wait()
    if worker.acquire(0) is not None:
        won.append(worker.owner)


def test_rampart_shards_shows_owners_tokens_and_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rampart.db'}"
    env = {"RAMPART_STORE__URL": url}
    empty = CliRunner().invoke(app, ["shards"], env=env)
    assert empty.exit_code == 0 and "No shard leases" in empty.output
    db = open_database(url)
    try:
        clock = SimClock(1_000)
        a = ShardLeases(db, "worker-a", clock, TTL_MS)
        a.ensure(2)
        a.step()
        ShardLeases(db, "worker-b", clock, TTL_MS).beat()
    finally:
        db.dispose()
    shown = CliRunner().invoke(app, ["shards", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert [(r["shard"], r["owner"], r["token"]) for r in found["shards"]] == [
        (0, "worker-a", 1),
        (1, "worker-a", 1),
    ]
    assert found["workers"] == {"worker-a": 1_000, "worker-b": 1_000}
    table = CliRunner().invoke(app, ["shards"], env=env, terminal_width=80)
    assert table.exit_code == 0, table.output
    assert "worker-a" in table.output and "Workers seen" in table.output
