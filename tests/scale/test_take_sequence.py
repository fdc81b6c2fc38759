"""A worker opens the shards it claimed together a few at a time, and the
first trades before the last is open: a real ``Worker`` against a real NATS server and a SQLite
store, its shards' opens held at a gate each so that the test says when each may finish.

All opened side by side on a starved machine, the five shards of a frozen worker each took
15-21 s and none traded before all were open; one at a time, a shard waited up to 8.4 s for the
others' opens. A shard held up in its open keeps none of the others from trading
(``test_take_side_by_side.py``, on PostgreSQL). Also here: a shard given back while it opens has its
take cancelled (its lease is not released twice, its trader never joins), and a shard that
joins while a candle goes round trades that candle next.

Liveness runs on a SimClock; waits are on the worker's progress condition and on events,
bounded only so that a broken test fails instead of hanging."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from rampart.clock import SimClock
from rampart.domain.candles import Candle
from rampart.domain.shards import shard_of
from rampart.fleet.lease_open import next_to_trade
from rampart.fleet.lease_takes import TAKE_CONCURRENCY
from rampart.fleet.shard import ShardTrader
from rampart.fleet.worker import Worker
from rampart.wiring.fleet_parts import build_worker
from tests.scale.nats_server import NatsServer, nats_server
from tests.scale.test_workers import HANG_GUARD_S, SHARDS, publish, settings_for, started, until


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    with nats_server(tmp_path / "nats") as server:
        yield server


class Gates:
    """Each shard's open waits at its gate (ShardTrader.take, patched) until the test opens
    it; ``opening`` records the order the opens began in."""

    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}
        self.opening: list[int] = []
        self.all_open = False

    def gate(self, shard: int) -> asyncio.Event:
        return self.gates.setdefault(shard, asyncio.Event())

    def open_all(self) -> None:
        self.all_open = True
        for gate in self.gates.values():
            gate.set()


def gated_take(gates: Gates, monkeypatch: pytest.MonkeyPatch) -> None:
    original = ShardTrader.take

    async def take(self: ShardTrader, recent: Iterable[Candle]) -> int:
        gates.opening.append(self.shard)
        if not gates.all_open:
            await gates.gate(self.shard).wait()
        return await original(self, recent)

    monkeypatch.setattr(ShardTrader, "take", take)


async def spin(times: int = 50) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def claimed(settings: Any, gates: Gates) -> AsyncIterator[Worker]:
    """A worker on 40 published candles that has claimed every shard, each take held at its
    gate; stopped (every gate opened) when the test is done with it."""
    await publish(settings, 40)
    worker = build_worker(settings, Console(quiet=True), name="w", ops_clock=SimClock(1_000_000),
                    install_signals=False)  # fmt: skip
    market = await started(worker)
    try:
        await until(worker, lambda: worker.caught_up)
        await worker.plan_round()  # the first round only says it is here
        await worker.plan_round()  # claims every shard and starts their takes
        await spin()
        yield worker
    finally:
        gates.open_all()
        worker.stop.set()
        await asyncio.wait_for(market, HANG_GUARD_S)
        await worker.aclose()


def test_shards_claimed_together_open_a_few_at_a_time_and_each_trades_after_its_own_open(
    nats: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(nats.url, f"sqlite:///{tmp_path / 'rampart.db'}")
    sizes = Counter(shard_of(a.id, SHARDS) for a in settings.accounts)
    order = sorted(range(SHARDS), key=lambda s: (sizes[s], s))
    gates = Gates()
    gated_take(gates, monkeypatch)

    async def scenario() -> None:
        async with claimed(settings, gates) as worker:
            # The smallest first, and no more than TAKE_CONCURRENCY side by side.
            assert gates.opening == order[:TAKE_CONCURRENCY]
            first = order[0]
            gates.gate(first).set()
            await until(worker, lambda: first in worker.traders)
            await spin()
            assert gates.opening == order[: TAKE_CONCURRENCY + 1]  # the next one's turn
            # The first trades while the others are still opening.
            await publish(settings, 2)
            await until(worker, lambda: first in worker.takes.resumed)
            assert set(worker.traders) == {first}
            gates.open_all()
            await asyncio.wait_for(worker.takes.settle(), HANG_GUARD_S)
            assert sorted(worker.traders) == list(range(SHARDS))
            assert gates.opening == order

    asyncio.run(scenario())


def test_a_shard_given_back_while_it_opens_has_its_take_cancelled(
    nats: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(nats.url, f"sqlite:///{tmp_path / 'rampart.db'}")
    gates = Gates()
    gated_take(gates, monkeypatch)

    async def scenario() -> None:
        async with claimed(settings, gates) as worker:
            opening = gates.opening[0]
            take = worker.takes.tasks[opening]
            async with worker.locks(opening):  # as a round gives a shard back
                assert await worker._hand_back(opening)
            await asyncio.wait_for(asyncio.gather(take, return_exceptions=True), HANG_GUARD_S)
            assert take.cancelled()
            assert opening not in worker.traders and opening not in worker.takes.claimed_ms
            leases: Any = worker.leases
            assert opening not in leases.leases
            gates.open_all()
            await asyncio.wait_for(worker.takes.settle(), HANG_GUARD_S)
            assert opening not in worker.traders
            assert len(worker.traders) == SHARDS - 1

    asyncio.run(scenario())


class Shard:
    passing = False  # no reconciliation pass holds it

    def __init__(self, shard: int) -> None:
        self.shard = shard


def test_a_shard_that_joins_while_a_candle_goes_round_trades_it_next() -> None:
    a, b, c, joined = Shard(0), Shard(1), Shard(2), Shard(3)
    traders: Any = {0: a, 1: b, 2: c}
    done: list[Any] = []
    assert next_to_trade(traders, {}, done) is a
    done.append(a)
    traders[3] = joined  # its take finished while shard 0 traded the candle
    claimed = {3: 1_000}  # and it awaits its first decision
    assert next_to_trade(traders, claimed, done) is joined
    done.append(joined)
    assert next_to_trade(traders, claimed, done) is b
    done.extend([b, c])
    assert next_to_trade(traders, claimed, done) is None


def test_a_shard_taken_joins_while_another_shard_trades_a_slow_candle(
    nats: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shard has a lock of its own: a shard just opened takes its controls, trades what
    came and joins while a shard held before it is still on a slow candle. Under one lock for
    the worker it waited for that candle (2-8 s per shard taken, under 2x CPU)."""
    settings = settings_for(nats.url, f"sqlite:///{tmp_path / 'rampart.db'}")
    sizes = Counter(shard_of(a.id, SHARDS) for a in settings.accounts)
    gates = Gates()
    gated_take(gates, monkeypatch)

    async def scenario() -> None:
        async with claimed(settings, gates) as worker:
            first, second = sorted(range(SHARDS), key=lambda s: (sizes[s], s))[:2]
            gates.gate(first).set()
            await until(worker, lambda: first in worker.traders)
            async with worker.locks(first):  # its candle, slow
                await publish(settings, 1)  # the round stops at the first shard's lock
                gates.gate(second).set()
                await until(worker, lambda: second in worker.traders)
                assert worker.locks(first).locked()

    asyncio.run(scenario())
