"""The fence while the database does not answer: protective orders of coins held pass it for a
bounded time, nothing else does, and the pairs' client ids come from the position.

The whole path (a worker's shard, the exchange simulator, a real outage) is
tests/chaos/test_db_away_stops.py; these are its rules one by one."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from rampart.clock import SimClock
from rampart.domain.errors import StoreError, VenueError
from rampart.domain.orders import OrderRole, OrderType, client_order_id, protective_client_id
from rampart.fleet.fenced_venue import FENCED, FencedVenue
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.trading.bracket import BracketBook, PositionBracket
from rampart.trading.reconcile.books import parse_client_id
from tests.chaos.db_outage import SqliteLock
from tests.store.factories import entry_order, stop_order

TTL_MS = 6_000
GRACE_MS = 60_000


class _Venue:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def submit(self, order: object) -> None:
        self.sent.append("submit")

    async def submit_oco(self, stop: object, take: object) -> None:
        self.sent.append("oco")

    async def cancel(self, account_id: str, client_id: str) -> None:
        self.sent.append(f"cancel {client_id}")

    async def amend_oco(
        self, account_id: str, stop_id: str, take_id: str, remaining: object, **prices: object
    ) -> None:
        self.sent.append(f"amend {stop_id}/{take_id} {remaining} {prices.get('stop_price')}")


def _away(tmp_path: Path) -> tuple[ShardLeases, SimClock, sqlite3.Connection]:
    """A held lease whose renewal has just failed: another connection holds the write lock."""
    path = tmp_path / "rampart.db"
    engine = open_database(f"sqlite:///{path}")
    clock = SimClock(1_000_000)
    leases = ShardLeases(engine, "w1", clock, TTL_MS)
    leases.ensure(1)
    assert leases.acquire(0) is not None
    SqliteLock.shorten_waits(engine)
    lock = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    lock.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreError):
        leases.keep()
    return leases, clock, lock


def test_protection_passes_past_the_lease_while_the_database_is_away_then_stops(
    tmp_path: Path,
) -> None:
    leases, clock, lock = _away(tmp_path)
    try:
        assert leases.away_since_ms == clock.now_ms()
        clock.advance(TTL_MS)
        assert not leases.valid(0)
        assert leases.protects(0, GRACE_MS)
        clock.advance(GRACE_MS - 1)
        assert leases.protects(0, GRACE_MS)
        clock.advance(1)
        assert not leases.protects(0, GRACE_MS), "bounded: the lease's end plus the grace"
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    leases.keep()  # the database answers: the lease is renewed, nothing is away
    assert leases.away_since_ms is None and leases.valid(0)


def test_a_shard_found_taken_or_a_lease_simply_run_out_protects_nothing(tmp_path: Path) -> None:
    leases, clock, lock = _away(tmp_path)
    try:
        clock.advance(TTL_MS)
        leases.taken.add(0)  # a write found another worker's token
        assert not leases.protects(0, GRACE_MS)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    fresh = ShardLeases(leases.engine, "w2", clock, TTL_MS)
    assert fresh.acquire(0) is not None  # the lease ran out: another takes it
    clock.advance(TTL_MS)
    assert not fresh.valid(0)
    assert not fresh.protects(0, GRACE_MS), "renewals not failing: the lease alone decides"


def test_only_protective_orders_pass_and_the_rest_is_refused_in_words() -> None:
    venue = _Venue()
    refused: list[int] = []
    fenced = FencedVenue(
        venue, valid=lambda: False, refused=lambda: refused.append(1), shard=3,
        protect=lambda: True,
    )  # fmt: skip
    entry = entry_order()
    stop = stop_order(entry)
    exit_order = replace(
        stop, client_id="x-1", role=OrderRole.EXIT, type=OrderType.MARKET, stop_price=None
    )

    async def go() -> None:
        await fenced.submit_oco(stop, stop)
        await fenced.submit(stop)
        await fenced.cancel(entry.account_id, stop.client_id)
        derived = protective_client_id(entry.account_id, entry.client_id, 3, OrderRole.STOP_LOSS)
        assert derived is not None
        await fenced.cancel(entry.account_id, derived)
        # A market sell of held coins (the monitor's exit on a crossed stop) goes out too.
        await fenced.submit(exit_order)
        with pytest.raises(VenueError) as submit:
            await fenced.submit(entry)
        with pytest.raises(VenueError):
            await fenced.cancel(entry.account_id, entry.client_id)
        assert submit.value.code == FENCED
        assert "database does not answer" in submit.value.message
        assert "only protective orders and sales of coins" in submit.value.message

    asyncio.run(go())
    assert venue.sent[:3] == ["oco", "submit", f"cancel {stop.client_id}"]
    assert venue.sent[4] == "submit" and len(venue.sent) == 5 and len(refused) == 2


def test_a_pairs_amendment_passes_while_the_database_is_away_and_nothing_else_does() -> None:
    """An amend changes the resting pair's own orders under its derived ids: it covers the
    coins as the pair does. Past a lease simply run out, or on ids not a pair's, it is refused."""
    venue = _Venue()
    away = [True]
    fenced = FencedVenue(
        venue, valid=lambda: False, refused=lambda: None, shard=3, protect=lambda: away[0]
    )
    entry = entry_order()
    stop, take = (
        protective_client_id(entry.account_id, entry.client_id, 2, role)
        for role in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
    )
    assert stop is not None and take is not None

    async def go() -> None:
        await fenced.amend_oco(entry.account_id, stop, take, Decimal("0.5"), stop_price=Decimal(9))
        with pytest.raises(VenueError) as other:
            await fenced.amend_oco(entry.account_id, entry.client_id, take, Decimal("0.5"))
        assert other.value.code == FENCED and "amendment of a pair" in other.value.message
        away[0] = False  # the lease simply ran out: the shard is the next owner's
        with pytest.raises(VenueError) as gone:
            await fenced.amend_oco(entry.account_id, stop, take, Decimal("0.5"))
        assert "has run out" in gone.value.message

    asyncio.run(go())
    assert venue.sent == [f"amend {stop}/{take} 0.5 9"]


def test_a_pairs_ids_come_from_its_position_and_generation() -> None:
    entry = client_order_id("a1", 42, OrderRole.ENTRY)
    one, other = PositionBracket(), PositionBracket.from_dict(PositionBracket().to_dict())
    assert one.derived_ids("a1", entry) == other.derived_ids("a1", entry)  # two holders agree
    stop, take = PositionBracket.from_dict(one.to_dict()).derived_ids("a1", entry) or ("", "")
    assert stop == f"{entry[:-1]}s2" and take == f"{entry[:-1]}t2"  # the generation is saved
    assert len(stop) + len("-oco") <= 36  # Binance's longest client id, its list id included
    assert parse_client_id("a1", stop) == (42, OrderRole.STOP_LOSS)  # reconciliation's own
    assert parse_client_id("a2", stop) is None
    assert PositionBracket().derived_ids("a1", "adopted-on-the-exchange") is None
    assert protective_client_id("a2", entry, 1, OrderRole.STOP_LOSS) is None


def test_a_worker_frozen_past_its_lease_is_not_the_database_away(tmp_path: Path) -> None:
    """SIGSTOP past the lease, and the first renewal after it fails (its sessions were ended
    by the taker): the shards are another's, nothing is covered."""
    path = tmp_path / "rampart.db"
    engine = open_database(f"sqlite:///{path}")
    clock = SimClock(1_000_000)
    leases = ShardLeases(engine, "w1", clock, TTL_MS)
    leases.ensure(1)
    assert leases.acquire(0) is not None
    SqliteLock.shorten_waits(engine)
    clock.advance(TTL_MS + 1)  # frozen past its lease
    lock = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError):
            leases.keep()
        assert leases.away_since_ms is not None
        assert not leases.protects(0, GRACE_MS)
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def test_the_generation_is_saved_with_the_account_also_once_flat() -> None:
    book = BracketBook()
    entry = client_order_id("a1", 7, OrderRole.ENTRY)
    assert book.of("BTC/USDT").derived_ids("a1", entry) is not None
    saved = book.to_dict(held=())  # the position closed since: nothing else to keep
    again = BracketBook()
    again.load(saved, guarded=(), held=())
    assert again.of("BTC/USDT").generation == 1
    assert BracketBook().to_dict(held=()) == {}  # a fleet's habit only: nothing saved otherwise
