"""Real database outages for the chaos tests, and a paper trading session that records what
reached the venue and what was published on the bus.

- SQLite: another connection holds the write lock (``BEGIN EXCLUSIVE``), so every write of
  the session fails with "database is locked" while reads still work (WAL).
- PostgreSQL: the session reaches the server through a TCP hop that can go down. Cutting it
  terminates the session's backends with ``pg_terminate_backend`` (from another connection,
  as an operator killing connections would) and refuses new connections until it is back.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rampart.clock import SimClock
from rampart.config import AccountConfig, Settings, load_settings
from rampart.domain.candles import Candle
from rampart.domain.errors import OutcomeUnknown
from rampart.domain.events import (
    FillBooked,
    IntentProposed,
    IntentRejected,
    KillSwitchChanged,
    OrderUpdated,
    TradeClosed,
)
from rampart.domain.orders import Order, OrderRole, OrderStatus
from rampart.market.synthetic import SyntheticFeed
from rampart.store import models as m
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession
from rampart_testkit.soak.agent import soak_agent_factory
from tests.tcp_relay import TcpRelay

SYMBOL = "BTC/USDT"
TIGHT = {"moderate": {"min_stop": "0.002", "min_rr": "1", "consecutive_losses": 1000}}
"""Synthetic one-minute candles move little: tight brackets make trades close in a test, and
the churn agent's run of small losses must not cool the accounts down."""
ACCOUNTS = [
    AccountConfig(
        id=f"churn-{i}",
        agent="churn",
        profile="moderate",
        symbols=[SYMBOL],
        owner=f"investor-{i}",
        params={"every": 2, "hold": 3 + i},
    )
    for i in range(3)
]
LOCK_WAIT_MS = 50
"""The service waits 5 s on SQLite's lock; the test's session gives up after 50 ms (still
SQLite's own busy handler giving up), so a refused write costs little real time."""


class Outage(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class SqliteLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    @staticmethod
    def shorten_waits(db: sa.Engine) -> None:
        def short(dbapi: Any, _record: Any) -> None:
            dbapi.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")

        sa.event.listen(db, "connect", short)
        db.dispose()

    def start(self) -> None:
        # Any thread may start it (a store call run off the loop) and another stop it.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN EXCLUSIVE")
        self._conn = conn

    def stop(self) -> None:
        assert self._conn is not None
        self._conn.execute("ROLLBACK")
        self._conn.close()
        self._conn = None


class PgHop:
    """127.0.0.1:port → the PostgreSQL server of ``url``; :meth:`start` cuts it and
    terminates the session's server connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.relay = TcpRelay(parsed.host or "127.0.0.1", parsed.port or 5432)
        self.terminated = 0

    @property
    def session_url(self) -> str:
        url = make_url(self.url).set(host="127.0.0.1", port=self.relay.port)
        return url.render_as_string(hide_password=False)

    def start(self) -> None:
        """The outage: no new connection gets through, and the open ones are killed."""
        self.relay.cut(self._terminate)

    def _terminate(self, ports: list[int]) -> None:
        with self.admin.begin() as conn:
            killed = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE client_port = ANY(:ports)"
                ),
                {"ports": ports},
            ).scalar_one()
        self.terminated += int(killed)

    def stop(self) -> None:
        self.relay.restore()

    def close(self) -> None:
        if self.relay.open:
            self.start()
        self.admin.dispose()


class ChurnSession(TradingSession):
    """The soak's busy agent: an entry every two bars when flat, a market exit after a few."""

    def _make_agent(self, name: str, params: dict[str, Any] | None) -> Any:
        return soak_agent_factory()(name, params)


@dataclass
class Rig:
    session: ChurnSession
    clock: SimClock
    candles: Iterator[Candle]
    phase: str = "before"
    sent: list[tuple[str, Order]] = field(default_factory=list)
    """(phase, order) for every order handed to the venue."""
    published: list[tuple[str, object]] = field(default_factory=list)
    unknown_cancels: set[str] = field(default_factory=set)
    """Accounts whose entry cancels time out (the venue never says whether they landed)."""

    async def trade(self, n: int) -> None:
        for candle in itertools.islice(self.candles, n):
            self.clock.set(max(self.clock.now_ms(), candle.close_ts))
            await self.session.process(candle)

    def sent_in(self, phase: str, role: OrderRole) -> list[Order]:
        return [o for p, o in self.sent if p == phase and o.role is role]

    def events(self, kind: type, phase: str | None = None) -> list[Any]:
        return [e for p, e in self.published if type(e) is kind and phase in (None, p)]


BIG = 5_000_000
"""Capital whose entries are larger than the paper venue fills in one candle (it takes a share
of each candle's volume): they stay working across candles, for the kill switch to cancel."""


def settings_for(url: str, capital: int | None = None, **store: Any) -> Settings:
    accounts = [a.model_dump() for a in ACCOUNTS]
    if capital is not None:
        accounts = [{**a, "capital": capital} for a in accounts]
    settings = load_settings(
        store={"url": url, **store}, feed={"symbols": [SYMBOL]}, accounts=[], profiles=TIGHT
    )
    # The churn agent is the testkit's (the rig's session makes it); the settings' own check,
    # when they are read, knows the built-in agents only, so the accounts come after it.
    settings.accounts = [AccountConfig.model_validate(a) for a in accounts]
    return settings


async def open_rig(settings: Settings) -> Rig:
    clock = SimClock(0)
    session = ChurnSession(
        settings,
        clock,
        instruments_for([SYMBOL]),
        db_url=settings.store.url,
        checkpoint_name="run",
        accounts=list(settings.accounts),
        checkpoint_every=settings.store.checkpoint_every,
    )
    await session.open()
    session.finish_resume()
    feed = SyntheticFeed([SYMBOL], seed=settings.feed.seed, timeframe="1m")
    rig = Rig(session, clock, feed.iter_candles())
    session.bus.subscribe(lambda event: rig.published.append((rig.phase, event)))
    venue: Any = session.venue
    submit, submit_oco, cancel = venue.submit, venue.submit_oco, venue.cancel

    async def sending(order: Order) -> None:
        rig.sent.append((rig.phase, order.snapshot()))
        await submit(order)

    async def sending_oco(stop: Order, take: Order) -> None:
        rig.sent += [(rig.phase, stop.snapshot()), (rig.phase, take.snapshot())]
        await submit_oco(stop, take)

    async def canceling(account_id: str, client_id: str) -> None:
        order = session.engine.accounts[account_id].orders.get(client_id)
        if account_id in rig.unknown_cancels and order and order.role is OrderRole.ENTRY:
            raise OutcomeUnknown("the cancel timed out")
        await cancel(account_id, client_id)

    venue.submit, venue.submit_oco, venue.cancel = sending, sending_oco, canceling
    return rig


TABLES = {
    OrderUpdated: m.order_transitions,
    FillBooked: m.fills,
    TradeClosed: m.trades,
    IntentProposed: m.intents,
    IntentRejected: m.rejections,
}


def stored_counts(db: sa.Engine) -> Counter[str]:
    counts: Counter[str] = Counter()
    with db.connect() as conn:
        for table in TABLES.values():
            counts[table.name] = conn.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
        kills = sa.select(sa.func.count()).where(m.account_events.c.kind == "kill_switch")
        counts["kill_switch"] = conn.execute(kills).scalar_one()
    return counts


def is_transition(event: OrderUpdated) -> bool:
    """What the writer keeps a row for: a new order or a change of status (a further part
    filled, or an order re-sized in place, has none)."""
    return event.previous is not event.order.status or event.order.status is OrderStatus.NEW


def published_counts(rig: Rig) -> Counter[str]:
    counts: Counter[str] = Counter()
    for kind, table in TABLES.items():
        events = rig.events(kind)
        if kind is OrderUpdated:
            events = [e for e in events if is_transition(e)]
        counts[table.name] = len(events)
    counts["kill_switch"] = len(rig.events(KillSwitchChanged))
    return counts
