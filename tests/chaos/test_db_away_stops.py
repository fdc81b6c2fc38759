"""The database away is not the stops away: a worker whose shard lease cannot be renewed
because the database does not answer goes on covering the coins its shard holds.

A fleet run found coins without a stop for up to 36 s while PostgreSQL was stopped for 32 s:
the lease ran out on the worker's clock after 6 s and its fence refused every order, the stops
of an entry still filling on the exchange among them. Here a worker's shard (the real ccxt
client against the exchange simulator, its participation cap filling a market entry a part per
second) loses its database the way the chaos tests make it (SQLite's write lock held by
another connection; PostgreSQL's backends terminated and new connections refused) while the
entry fills:

- every coin the exchange holds rests under a stop within 5 s of its fill, also after the
  lease's end (the fence lets protective orders through, bounded by ``scale.protect_away_s``);
- a second holder resuming from the checkpoint before the outage, sending the same pair, is
  refused by the exchange as a duplicate (the pair's client ids come from the position and its
  generation), so the pair rests once;
- no new position opens while the database is away (refused in words);
- once the database answers, the renewals resume and everything done meanwhile is stored.

Time is simulated: a follow turn a second on the ops clock, the exchange a second a turn.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.config import load_settings
from rampart.domain.errors import StoreError
from rampart.domain.events import FillBooked, IntentRejected, OrderUpdated
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, OrderStatus, Side
from rampart.fleet.fenced_venue import FencedVenue
from rampart.fleet.lease_open import covers, holds
from rampart.fleet.shard import ShardTrader
from rampart.fleet.shard_locks import ShardLocks
from rampart.fleet.worker_follow import follow_pass
from rampart.risk.checks import STORE_UNAVAILABLE_MESSAGE
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.leases import ShardLeases
from rampart.trading.reconcile.adopt import ID_GAP
from rampart.wiring.fleet_parts import shard_trader
from rampart.wiring.venue_kinds import load_instruments
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle

from .db_outage import Outage, PgHop, SqliteLock, is_transition

SYMBOL = "BTC/USDT"
TURN_MS = 1_000
LEASE_MS = 6_000
COVERED_WITHIN_MS = 5_000
OUTAGE_TURNS = 30
SLOW = Decimal("0.0002")
"""The simulator's participation: the entry fills a part per second over the whole outage."""


class Backend:
    def __init__(self, url: str, outage: Outage, lock: SqliteLock | None) -> None:
        self.url, self.outage, self.lock = url, outage, lock

    def engine(self) -> sa.Engine:
        db = open_database(self.url)
        if self.lock is not None:
            SqliteLock.shorten_waits(db)
        return db


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "rampart.db"
        lock = SqliteLock(path)
        yield Backend(f"sqlite:///{path}", lock, lock)
        return
    hop = PgHop(request.getfixturevalue("pg_url"))
    try:
        yield Backend(hop.session_url, hop, None)
    finally:
        hop.close()


class _Worker:
    """What a worker's follow pass and its fence read: traders, locks, leases, settings."""

    def __init__(self, leases: ShardLeases, ops_clock: SimClock, scale: Any) -> None:
        self.traders: dict[int, ShardTrader] = {}
        self.locks = ShardLocks()
        self.leases = leases
        self.ops_clock = ops_clock
        self.scale = scale
        self.refused = 0

    def count_refusal(self) -> None:
        self.refused += 1


def _settings(url: str, sim: SimulatorHandle, key: str, secret: str) -> Any:
    return load_settings(
        store={"url": url},
        feed={"symbols": [SYMBOL]},
        venue={
            "kind": "ccxt",
            "api_url": sim.url,
            "rate_limit_ms": 1,
            "request_timeout_s": 2,
            "use_order_stream": False,
            "credentials": {"a1": {"api_key": key, "secret": secret}},
        },
        accounts=[{"id": "a1", "agent": "trend", "symbols": [SYMBOL], "capital": "10000"}],
        alerts={"enabled": False},
        api={"enabled": False},
        scale={"shards": 1},
    )


def _entry_intent(sim: SimulatorHandle, trader: ShardTrader) -> Intent:
    price = sim.exchange.last_price(SYMBOL)
    inst = trader.engine.venue.instrument(SYMBOL)
    return Intent(
        "a1", SYMBOL, Side.BUY, IntentAction.OPEN, price,
        inst.round_price(price * Decimal("0.98")), inst.round_price(price * Decimal("1.03")),
        agent="scripted", ts=sim.exchange.now_ms,
    )  # fmt: skip


def _account(sim: SimulatorHandle) -> dict[str, Any]:
    return sim.exchange.state()["accounts"]["a1"]


def _held(sim: SimulatorHandle) -> Decimal:
    btc = _account(sim)["balances"].get("BTC", {"free": "0", "locked": "0"})
    return Decimal(btc["free"]) + Decimal(btc["locked"])


def _stops(sim: SimulatorHandle) -> list[dict[str, Any]]:
    return [
        o
        for o in _account(sim)["open_orders"]
        if o["type"] == "stop_market" and o["side"] == "sell"
    ]


def _stopped(sim: SimulatorHandle) -> Decimal:
    return sum((Decimal(o["qty"]) for o in _stops(sim)), Decimal(0))


def test_the_stops_go_on_while_the_database_is_away_and_it_all_is_booked_after(
    backend: Backend, tmp_path: Path
) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL], participation=SLOW) as sim:
            await sim.advance(3)
            key, secret = sim.create_account({"USDT": "10000"}, account_id="a1")
            settings = _settings(backend.url, sim, key, secret)
            instruments = await load_instruments(settings, [SYMBOL])
            ops = SimClock(1_000_000)  # the worker's clock: leases, follow turns
            lease_db = backend.engine()
            leases = ShardLeases(lease_db, "w1", ops, LEASE_MS)
            leases.ensure(1)
            lease = leases.acquire(0)
            assert lease is not None
            worker = _Worker(leases, ops, settings.scale)
            fenced = partial(
                FencedVenue,
                valid=partial(holds, worker, 0, lease.token),  # type: ignore[arg-type]
                refused=worker.count_refusal,
                shard=0,
                protect=partial(covers, worker, 0, lease.token),  # type: ignore[arg-type]
            )
            trader = shard_trader(
                settings, 0, 1, SimClock(sim.exchange.now_ms), instruments, db=backend.engine(),
                fence=lambda conn: leases.fence(conn, [0]), wrap_venue=fenced,
            )  # fmt: skip
            await trader.take([])
            trader.token = lease.token
            worker.traders[0] = trader
            venue: Any = trader.session.venue
            venue.wall = lambda: ops.now_ms() / 1000
            # The second holder: another worker on the far side of a partition, on a store of
            # its own, that resumes the shard from the checkpoint written before the outage.
            other_settings = _settings(f"sqlite:///{tmp_path / 'other.db'}", sim, key, secret)
            second = shard_trader(
                other_settings, 0, 1, SimClock(sim.exchange.now_ms), instruments, db=None,
                fence=lambda conn: None, wrap_venue=lambda v: v,
            )  # fmt: skip
            await second.take([])

            engine = trader.engine
            acct = engine.accounts["a1"]
            events: list[tuple[str, Any]] = []
            phase = "before"
            engine.bus.subscribe(lambda e: events.append((phase, e)))
            for candle in sim.exchange.tape_last():
                await trader.trade(candle)
            assert await engine.handle_intent(acct, _entry_intent(sim, trader)), acct.rejections
            (entry,) = [o for o in acct.orders.values() if o.role is OrderRole.ENTRY]

            async def turn() -> None:
                await sim.advance(1)
                ops.advance(TURN_MS)
                await follow_pass(worker)  # type: ignore[arg-type]

            # A stop rests for the first parts; the checkpoint before the outage is written.
            while not _stops(sim):
                await turn()
            assert await trader.session.checkpoint_off_loop()
            saved = copy.deepcopy(engine.snapshot())

            phase = "away"
            backend.outage.start()
            try:
                with pytest.raises(StoreError):
                    leases.keep()  # the keeper's renewal: the database does not answer
                bare_since: int | None = None
                waits: list[int] = []
                grown_past_lease = False
                for step in range(OUTAGE_TURNS):
                    before = _stopped(sim)
                    await turn()
                    if step % 2:
                        with pytest.raises(StoreError):
                            leases.keep()
                    if not leases.valid(0) and _stopped(sim) > before:
                        grown_past_lease = True  # a stop placed after the lease's end
                    floor = venue.instrument(SYMBOL).floor_qty(_held(sim))
                    if _stopped(sim) < floor:
                        bare_since = ops.now_ms() if bare_since is None else bare_since
                        waits.append(ops.now_ms() - bare_since + TURN_MS)
                    else:
                        bare_since = None
                assert not leases.valid(0), "the outage must outlast the lease"
                assert max(waits, default=0) <= COVERED_WITHIN_MS, waits
                assert grown_past_lease, "no stop was placed after the lease's end: proves nothing"
                assert entry.status is not OrderStatus.FILLED or _stopped(sim) > 0

                # No new position while the database is away, in words.
                assert engine.store_down
                assert not await engine.handle_intent(acct, _entry_intent(sim, trader))
                told = [e for p, e in events if p == "away" and isinstance(e, IntentRejected)]
                assert [(e.code, e.message) for e in told] == [
                    ("store_unavailable", STORE_UNAVAILABLE_MESSAGE)
                ]
                assert [o.role for o in acct.orders.values()].count(OrderRole.ENTRY) == 1

                # The second holder sends the pair the first sent first in the outage: refused.
                second.engine.load_snapshot(copy.deepcopy(saved))
                other = second.engine.accounts["a1"]
                saved_ids = set(other.orders)
                other.seq += ID_GAP  # as a takeover's reserve_ids moves the numbering on
                pos = other.ledger.positions[SYMBOL]
                on_exchange = _stops(sim)
                qty = venue.instrument(SYMBOL).floor_qty(_held(sim))
                prices = other.brackets[pos.entry_client_id]
                protector = second.engine.executor.protection
                protector.derived_ids = True
                lists = sim.exchange.counters.order_lists
                await protector.place(other, pos, qty, prices)
                (copy_leg,) = [
                    o for o in other.orders.values()
                    if o.role is OrderRole.STOP_LOSS and o.client_id not in saved_ids
                ]  # fmt: skip
                await second.engine.executor.drain()
                # Refused as a duplicate (no new list), the copy is the first holder's leg of
                # that generation, which the second holder now follows by the exchange's word.
                assert sim.exchange.counters.order_lists == lists
                first_leg = sim.exchange.sub("a1").find(copy_leg.client_id)
                assert first_leg is not None, f"{copy_leg.client_id} rested nowhere"
                assert copy_leg.venue_order_id == str(first_leg.seq)
                assert copy_leg.status is not OrderStatus.REJECTED, copy_leg.reason
                assert _stops(sim) == on_exchange, "the second copy must not rest"
            finally:
                backend.outage.stop()

            # The database answers: the renewal goes through, entries resume, the books are whole.
            phase = "after"
            leases.keep()
            assert leases.valid(0) and leases.away_since_ms is None
            assert await trader.session.checkpoint_off_loop()
            assert not engine.store_down
            await _books_are_whole(trader, events, sim)
            await second.drop()
            await trader.drop()
            lease_db.dispose()

    asyncio.run(go())


async def _books_are_whole(
    trader: ShardTrader, events: list[tuple[str, Any]], sim: SimulatorHandle
) -> None:
    db = trader.session.db
    fills = {e.fill.fill_id for _p, e in events if isinstance(e, FillBooked)}
    away = {e.fill.fill_id for p, e in events if p == "away" and isinstance(e, FillBooked)}
    moves = {
        (e.order.client_id, e.order.status.value, e.ts)
        for _p, e in events
        if isinstance(e, OrderUpdated) and is_transition(e)
    }
    with db.connect() as conn:
        stored = set(conn.execute(sa.select(m.fills.c.fill_id)).scalars())
        t = m.order_transitions.c
        rows = {tuple(r) for r in conn.execute(sa.select(t.client_id, t.status, t.ts))}
    assert away, "nothing filled during the outage: proves nothing"
    assert fills <= stored, sorted(fills - stored)
    assert moves <= rows, sorted(moves - rows)
    trades = {str(t.trade_id) for t in sim.exchange.trades["a1"]}
    assert {f.rsplit(":", 1)[-1] for f in fills} == trades  # every exchange trade, by its id
