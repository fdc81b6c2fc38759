"""A worker started while PostgreSQL is away waits for it: it exited with "Cannot
connect to PostgreSQL", while a running worker rides the same outage out. A database that
answers and refuses still ends the start at once, with its sentence."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rampart.clock import SimClock
from rampart.domain.errors import StoreError
from rampart.fleet.database_wait import database_away, open_waiting
from rampart.store.db import open_database
from tests.tcp_relay import TcpRelay


class _Restoring(SimClock):
    """Brings the database back on the ``back_after``-th wait."""

    def __init__(self, relay: TcpRelay, back_after: int) -> None:
        super().__init__(0)
        self.relay, self.back_after, self.waits = relay, back_after, 0

    async def sleep(self, seconds: float) -> None:
        self.waits += 1
        if self.waits == self.back_after:
            self.relay.restore()
        await super().sleep(seconds)


def _through(relay: TcpRelay, pg_url: str) -> str:
    url = make_url(pg_url)
    return url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)


def test_a_worker_started_while_postgresql_is_away_opens_once_it_answers(pg_url: str) -> None:
    url = make_url(pg_url)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    relay.cut()  # PostgreSQL away: the port refuses
    clock = _Restoring(relay, back_after=3)
    told: list[str] = []

    async def start() -> sa.Engine:
        return await open_waiting(
            lambda: open_database(_through(relay, pg_url)), clock, asyncio.Event(), told.append
        )

    try:
        db = asyncio.run(start())
        with db.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
        db.dispose()
    finally:
        relay.cut()
    assert clock.waits == 3
    assert clock.now_ms() == 7_000  # waits of 1, 2 and 4 s on the clock, never the wall's
    assert told[0].startswith("Cannot connect to PostgreSQL") and "Waiting" in told[0]
    assert told[-1] == "The database answers again after 3 tries; starting."


def test_a_database_that_refuses_ends_the_start_at_once(pg_url: str) -> None:
    missing = make_url(pg_url).set(database="rampart_no_such_db").render_as_string(False)
    clock = SimClock(0)

    async def start() -> object:
        return await open_waiting(
            lambda: open_database(missing), clock, asyncio.Event(), lambda _: None
        )

    with pytest.raises(StoreError, match="does not exist"):
        asyncio.run(start())
    assert clock.now_ms() == 0  # no wait: waiting would not mend it


def test_a_stop_while_waiting_ends_the_wait() -> None:
    stop = asyncio.Event()
    clock = SimClock(0)
    calls = 0

    def opening() -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            stop.set()  # SIGTERM while it waits
        raise StoreError("Cannot connect to PostgreSQL at 127.0.0.1:1: Connection refused.")

    with pytest.raises(StoreError, match="Connection refused"):
        asyncio.run(open_waiting(opening, clock, stop, lambda _: None))
    assert calls == 2


@pytest.mark.parametrize(
    ("reason", "away"),
    [
        # A fleet's database restarted under a worker that was opening: the session it had
        # was ended by the server (tests/scale/test_fleet_chaos.py saw the worker give up).
        ("terminating connection due to administrator command", True),
        ("the database system is not yet accepting connections", True),
        ("the database system is starting up", True),
        ("connection refused", True),
        ('password authentication failed for user "rampart"', False),
        ('database "nope" does not exist', False),
    ],
)
def test_a_database_restarting_is_away_and_one_refusing_us_is_not(reason: str, away: bool) -> None:
    err = StoreError(f"Cannot connect to PostgreSQL at 127.0.0.1:5432/test: {reason}.")
    assert database_away(err) is away
