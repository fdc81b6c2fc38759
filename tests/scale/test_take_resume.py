"""How soon a shard taken over trades: the parts of a take that kept a moved shard's
accounts waiting, each changed and checked here.

- A worker's interval reconciliation waits (bounded) while a shard is being taken or awaits its
  first decision: under the worker's lock it held a just-taken shard's first candle seconds.
- A take that fails lets go of its own lease only, never of the shard's newer claim.
- A shard lost and claimed back keeps no stale trader (opened under the old token) in the
  worker, which would keep the round from opening the new lease.
- The candles that came while an exchange shard opened: only each symbol's newest is traded;
  and a worker a round of candles behind the market warms an exchange shard on the older ones.

The worker-level test (shards opened one at a time) is in ``test_take_sequence.py``. No wall
time: the loops are stepped with ``asyncio.sleep(0)`` and events; the ops clock is a SimClock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry
from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.fleet.lease_open import let_go, stale_traders
from rampart.fleet.lease_takes import Takeovers
from rampart.fleet.shard import ShardTrader
from rampart.fleet.shard_locks import ShardLocks
from rampart.fleet.worker import Worker
from rampart.fleet.worker_candles import MAX_WARMED
from rampart.fleet.worker_reconcile import reconcile_pass
from rampart.observability.scale_metrics import ScaleMetrics
from rampart.store.db import open_database
from rampart.store.leases import Lease, ShardLeases, lease_table
from rampart.trading.ports import Updates
from rampart.wiring.fleet_parts import build_worker
from tests.scale.test_workers import settings_for

TTL_MS = 6_000


class FakeTrader:
    def __init__(self, shard: int, token: int = -1) -> None:
        self.shard = shard
        self.token = token
        self.reconciled: list[str] = []
        self.dropped = False

    async def reconcile(self, reason: str) -> None:
        self.reconciled.append(reason)

    def interval_due(self) -> bool:
        return True

    async def drop(self) -> None:
        self.dropped = True


def takeovers(clock: SimClock) -> Takeovers:
    return Takeovers(ScaleMetrics(CollectorRegistry()), clock)


async def spin(times: int = 20) -> None:
    """Let every ready task run (no wall time passes for the test's logic)."""
    for _ in range(times):
        await asyncio.sleep(0)


def test_the_interval_reconciliation_waits_for_a_taken_shard_to_trade() -> None:
    async def scenario() -> None:
        clock = SimClock(1_000_000)
        held = FakeTrader(0)
        worker: Any = SimpleNamespace(
            takes=takeovers(clock), traders={0: held}, locks=ShardLocks(), stop=asyncio.Event()
        )
        worker.takes.claimed(1, None)  # shard 1 claimed, not traded yet
        passing = asyncio.create_task(reconcile_pass(worker))
        await spin()
        assert held.reconciled == []  # the lock stays free for shard 1's first candle
        clock.advance(1_500)
        worker.takes.decided(1)
        assert await asyncio.wait_for(passing, 5) == 1
        assert held.reconciled == ["interval"]
        assert worker.takes.resumed == {1: 1.5}

    asyncio.run(scenario())


def test_the_interval_reconciliation_waits_for_takes_only_so_long() -> None:
    async def scenario() -> None:
        clock = SimClock(1_000_000)
        held = FakeTrader(0)
        worker: Any = SimpleNamespace(
            takes=takeovers(clock), traders={0: held}, locks=ShardLocks(), stop=asyncio.Event()
        )
        worker.takes.claimed(1, None)  # never decides (a take that hangs)
        assert await asyncio.wait_for(reconcile_pass(worker, max_defer_s=0), 5) == 1
        assert held.reconciled == ["interval"]

    asyncio.run(scenario())


def leases_on(tmp_path: Path, clock: SimClock) -> ShardLeases:
    leases = ShardLeases(open_database(f"sqlite:///{tmp_path / 'leases.db'}"), "me", clock, TTL_MS)
    leases.ensure(2)
    return leases


def test_a_failed_take_releases_its_own_lease_not_a_newer_claim(tmp_path: Path) -> None:
    clock = SimClock(1_000_000)
    leases = leases_on(tmp_path, clock)
    first = leases.acquire(0)
    assert first is not None
    takes = takeovers(clock)
    takes.claimed(0, None)
    old_claim = takes.claimed_ms[0]
    # The take under ``first`` is still closing when the lease runs out and a round claims the
    # shard again (a new token, a new claim).
    clock.advance(TTL_MS + 1)
    again = leases.acquire(0)
    assert again is not None and again.token > first.token
    takes.claimed(0, None)
    worker: Any = SimpleNamespace(leases=leases, takes=takes, traders={})

    old = FakeTrader(0, first.token)
    asyncio.run(let_go(worker, old, old_claim, first.token))  # type: ignore[arg-type]
    assert old.dropped
    assert lease_table(leases.engine)[0].owner == "me"  # the newer claim is still held
    assert leases.valid(0) and 0 in takes.claimed_ms  # and still awaits its first decision

    new = FakeTrader(0, again.token)
    asyncio.run(let_go(worker, new, takes.claimed_ms[0], again.token))  # type: ignore[arg-type]
    assert not leases.valid(0) and 0 not in takes.claimed_ms  # its own: released, forgotten
    leases.engine.dispose()


def test_a_shard_lost_and_claimed_back_keeps_no_stale_trader(tmp_path: Path) -> None:
    clock = SimClock(1_000_000)
    leases = leases_on(tmp_path, clock)
    first = leases.acquire(0)
    other = leases.acquire(1)
    assert first is not None and other is not None
    stale, kept = FakeTrader(0, first.token), FakeTrader(1, other.token)
    metrics = SimpleNamespace(scale=SimpleNamespace(lost=SimpleNamespace(inc=lambda: None)))
    worker: Any = SimpleNamespace(
        leases=leases,
        takes=takeovers(clock),
        traders={0: stale, 1: kept},
        locks=ShardLocks(),
        metrics=metrics,
    )
    # Shard 0's lease ran out and this worker claimed it back before its trader was dropped.
    leases.leases[0] = Lease(0, first.token + 1, clock.now_ms() + TTL_MS)
    assert stale_traders(worker) == [0]
    # The keeper's late report of the loss of shard 1 (claimed back under the same trader's
    # token meanwhile is impossible: a claim moves the token) and the stale one: only the
    # trader of an old token goes.
    asyncio.run(Worker._drop(worker, [0, 1]))
    assert worker.traders == {1: kept}
    assert stale.dropped and not kept.dropped
    leases.engine.dispose()


class FakeSession:
    def __init__(self, updates: Updates) -> None:
        self.engine = SimpleNamespace(
            data_ts={"BTC/USDT": 60_000, "ETH/USDT": 60_000},
            capabilities=SimpleNamespace(updates=updates),
        )
        self.warmed: list[Candle] = []
        self.traded: list[Candle] = []

    def warm(self, candle: Candle) -> tuple[Candle, ...]:
        self.warmed.append(candle)
        self.engine.data_ts[candle.symbol] = candle.close_ts
        return (candle,)

    async def process(self, candle: Candle) -> tuple[Candle, ...]:
        self.traded.append(candle)
        self.engine.data_ts[candle.symbol] = candle.close_ts
        return (candle,)


def candle(symbol: str, minute: int) -> Candle:
    return Candle(symbol, minute * 60_000, 1.0, 1.0, 1.0, 1.0, 1.0)


def trader_on(updates: Updates) -> tuple[ShardTrader, FakeSession]:
    trader = ShardTrader.__new__(ShardTrader)
    session = FakeSession(updates)
    trader.session = session  # type: ignore[assignment]
    trader.trading = True
    return trader, session


def test_an_exchange_shard_trades_only_the_newest_candle_that_came_while_it_opened() -> None:
    came = [candle("BTC/USDT", m) for m in (0, 1, 2, 3)] + [candle("ETH/USDT", 1)]
    trader, session = trader_on(Updates.POLLED)
    assert asyncio.run(trader.catch_up(came)) == 2
    assert session.traded == [came[4], came[3]]  # in time order; 0 was seen already
    assert session.warmed == [came[1], came[2]]
    # The paper venue matches on our candles: every one is traded, in order.
    paper, session = trader_on(Updates.CANDLES)
    assert asyncio.run(paper.catch_up(came)) == 4
    assert session.traded == [came[1], came[4], came[2], came[3]]
    assert session.warmed == []


def test_behind_the_market_an_exchange_shard_warms_on_the_older_candles() -> None:
    trader, session = trader_on(Updates.POLLED)
    older, seen = candle("BTC/USDT", 2), candle("BTC/USDT", 0)
    assert trader.skip(older)  # warmed, no decision: a newer candle waits behind it
    assert session.warmed == [older] and session.traded == []
    assert trader.skip(seen) and session.warmed == [older]  # seen already: nothing to do
    # The paper venue matches on our candles: it never skips one.
    paper, session = trader_on(Updates.CANDLES)
    assert not paper.skip(older) and session.warmed == []


def test_a_worker_behind_the_market_trades_the_newest_candle_and_never_only_warms() -> None:
    settings = settings_for("nats://127.0.0.1:1", "sqlite://")
    worker = build_worker(settings, Console(quiet=True), name="w", ops_clock=SimClock(0),
                    install_signals=False)  # fmt: skip
    trader, session = trader_on(Updates.POLLED)
    trader.shard = 0
    worker.traders = {0: trader}
    worker.leases = SimpleNamespace(valid=lambda _shard: True, away_since_ms=None)  # type: ignore[assignment]
    first, second, third = (candle("BTC/USDT", m) for m in (1, 2, 3))

    async def scenario() -> None:
        await worker.on_candle(first, 3)  # three candles wait behind it: warmed only
        await worker.on_candle(second, 0)  # the newest: traded
        worker.warmed = MAX_WARMED  # a lag that never reads 0: the next one trades anyway
        await worker.on_candle(third, 3)

    asyncio.run(scenario())
    assert session.warmed == [first]
    assert session.traded == [second, third]
    assert worker.traded == 2 and worker.warmed == 0


def test_a_round_passes_by_a_shard_whose_reconciliation_holds_it_and_it_warms_what_it_missed() -> (
    None
):
    """A reconciliation pass held a shard's lock 12-20 s in the overload bench, and the candle
    round waited on it, every other shard's candle with it: the worker fell 15-25 s behind the
    market, and the shards it had just taken decided on candles from before the fault."""
    settings = settings_for("nats://127.0.0.1:1", "sqlite://")
    worker = build_worker(settings, Console(quiet=True), name="w", ops_clock=SimClock(0),
                    install_signals=False)  # fmt: skip
    busy, busy_session = trader_on(Updates.POLLED)
    free, free_session = trader_on(Updates.POLLED)
    busy.shard, free.shard = 0, 1
    worker.traders = {0: busy, 1: free}  # the busy one first: the round used to stop there
    worker.leases = SimpleNamespace(valid=lambda _shard: True, away_since_ms=None)  # type: ignore[assignment]
    first, second, third = (candle("BTC/USDT", m) for m in (1, 2, 3))

    async def scenario() -> None:
        await worker.on_candle(first, 0)
        async with worker.locks(0):  # its pass, as trader.reconcile holds it
            busy.passing = True
            round_ = asyncio.create_task(worker.on_candle(second, 0))
            await spin()
            assert round_.done()  # the round did not wait for the pass
            busy.passing = False
        await worker.on_candle(third, 0)

    asyncio.run(scenario())
    assert free_session.traded == [first, second, third] and free_session.warmed == []
    # The busy shard missed the second candle's decision; its agents still saw it.
    assert busy_session.traded == [first, third]
    assert busy_session.warmed == [second]
