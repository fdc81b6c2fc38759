"""A clean stop's last pass (a SIGTERM of ``rampart run`` or a worker): before the process
exits, every trade the exchange made for it is booked, by exchange trade id, and every held
coin has a resting stop. The real ccxt client against the exchange simulator.

Found in a fleet run: after every worker stopped cleanly, 11-20 of 60 accounts held coins with
no stop, the last fills neither booked nor covered. Here the exchange moves on while the
process is no longer looking (its last candle is behind it): the position's protective pair is
canceled there (the investor's app), then the stop that replaced it fills."""

from __future__ import annotations

import asyncio
import io
import json
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from rampart.domain.errors import StoreError
from rampart.fleet.shard import ShardTrader
from rampart.fleet.shard_locks import ShardLocks
from rampart.fleet.worker import Worker
from rampart.trading.reconcile.context import TAKEOVER
from rampart.trading.reconcile.last_pass import last_pass
from rampart.trading.reconcile.reconciler import Reconciler
from rampart_testkit.soak import verify

from .helpers import SYMBOL, Chaos, chaos

HOLD = {"a1": {"every": 2, "hold": 100_000}}


async def _position(rig: Chaos) -> None:
    for _ in range(40):
        await rig.step()
        if SYMBOL in rig.eng.accounts["a1"].ledger.positions:
            return
    raise AssertionError("no position opened")


async def _cancel_by_hand(rig: Chaos) -> None:
    by_hand = rig.by_hand("a1")
    try:
        for _ in range(2):  # the stop; its OCO partner goes with it
            listed = rig.sim_state()["open_orders"]
            if listed:
                await by_hand.cancel_order(str(listed[0]["order_id"]), SYMBOL)
    finally:
        await by_hand.close()
    assert rig.sim_state()["open_orders"] == []


def _guard(rig: Chaos) -> verify.Protection:
    guard = verify.Protection()
    guard.check(rig.eng, rig.sim.exchange)
    return guard


def _unbooked(rig: Chaos) -> set[str]:
    """The exchange's trades for a1 whose id the books have not booked."""
    fill_ids = rig.eng.snapshot()["accounts"]["a1"]["fill_ids"]
    booked = {str(fid).rpartition(":")[2] for fid in fill_ids}
    return {str(t.trade_id) for t in rig.sim.exchange.trades["a1"]} - booked


def test_a_clean_stop_leaves_every_coin_under_a_stop() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _position(rig)
            await _cancel_by_hand(rig)  # after the process's last look at its orders
            assert _guard(rig).unprotected == 1

            result = await last_pass(rig.eng)
            await rig.sim.idle()

            guard = _guard(rig)
            assert guard.unprotected == 0 and guard.on_exchange == 1, guard.samples
            assert result.clean, result.text
            assert rig.truth() == []

    asyncio.run(go())


def test_a_clean_stop_books_the_fills_it_had_not_heard_of_by_trade_id() -> None:
    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _position(rig)
            trades = len(rig.sim.exchange.trades["a1"])
            for _ in range(120):  # the exchange trades on; the process no longer looks
                await rig.market()
                if rig.sim_state()["open_orders"] == []:
                    break
            else:
                raise AssertionError("neither leg of the pair filled")
            assert len(rig.sim.exchange.trades["a1"]) > trades
            assert _unbooked(rig)

            result = await last_pass(rig.eng)
            await rig.sim.idle()

            assert _unbooked(rig) == set()
            assert SYMBOL not in rig.eng.accounts["a1"].ledger.positions
            assert result.clean, result.text
            assert rig.truth() == []
            booked = rig.eng.snapshot()["accounts"]["a1"]["fill_ids"]
            again = await last_pass(rig.eng)  # a second pass books nothing twice
            assert again.clean and rig.eng.snapshot()["accounts"]["a1"]["fill_ids"] == booked

    asyncio.run(go())


def test_a_stopping_worker_covers_its_shards_coins_before_it_hands_them_back() -> None:
    """The worker's side: each shard it trades gets its last pass, under the shard's lock,
    before the hand-backs (the trader here is a real one over the rig's engine)."""

    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _position(rig)
            await _cancel_by_hand(rig)
            trader = ShardTrader(0, 1, SimpleNamespace(engine=rig.eng), reconcile_concurrency=4)
            trader.trading = True
            screen = io.StringIO()
            worker: Any = SimpleNamespace(
                traders={0: trader}, locks=ShardLocks(), console=Console(file=screen)
            )
            await Worker._last_passes(worker)
            await rig.sim.idle()
            guard = _guard(rig)
            assert guard.unprotected == 0 and guard.on_exchange == 1, guard.samples
            assert screen.getvalue() == ""  # nothing left for the next holder
            assert not trader.passing

    asyncio.run(go())


def test_a_last_pass_out_of_time_hands_the_work_to_the_next_holder_in_the_checkpoint() -> None:
    """No time left for the pass: the coins stay bare, the operator is told in words, and the
    checkpoint handed over says so; the next holder's take pass covers them before it trades
    and clears it."""

    async def go() -> None:
        async with chaos(HOLD) as rig:
            await _position(rig)
            await _cancel_by_hand(rig)
            result = await last_pass(rig.eng, within_s=0)
            assert not result.clean
            assert result.text.startswith(
                "Stopping with work left: the last pass did not finish (not done within 0 s)"
            )
            checkpoint = json.loads(json.dumps(rig.eng.snapshot()))
            assert checkpoint["owed"] == result.text
            await rig.stop_engine()
            await rig.start_engine(HOLD, checkpoint)  # the next holder
            assert rig.eng.owed == result.text
            await Reconciler().run(rig.eng, reason=TAKEOVER, verdict=False)  # its take
            await rig.sim.idle()
            assert _guard(rig).unprotected == 0
            assert rig.eng.owed == "" and "owed" not in rig.eng.snapshot()

    asyncio.run(go())


class _Trader:
    """A shard's trader as the worker's stop sees it: its last pass, then its hand-back."""

    def __init__(self, shard: int, said: list[str]) -> None:
        self.shard = shard
        self.said = said

    async def last_pass(self, within_s: float) -> None:
        self.said.append(f"last pass {self.shard}")


class _Nothing:
    async def stop_checks(self) -> None: ...

    async def settle(self) -> None: ...

    def leave(self) -> None: ...

    def close(self) -> None: ...


def test_a_worker_stop_runs_every_last_pass_before_any_hand_back() -> None:
    said: list[str] = []
    worker: Any = SimpleNamespace(
        background=[],
        takes=_Nothing(),
        leases=_Nothing(),
        keeper=None,
        notices=None,
        subscription=None,
        receiver=None,
        nc=None,
        db=None,
        watch=_Nothing(),
        locks=ShardLocks(),
        console=Console(file=io.StringIO()),
        traded=0,
        name="w1",
    )
    worker.traders = {0: _Trader(0, said), 1: _Trader(1, said)}

    async def hand_back(shard: int) -> bool:
        said.append(f"hand back {shard}")
        await asyncio.sleep(0)  # its checkpoint written off the loop
        said.append(f"handed back {shard}")
        return True

    worker._hand_back = hand_back
    worker._last_passes = lambda: Worker._last_passes(worker)
    worker._hand_backs = lambda: Worker._hand_backs(worker)
    asyncio.run(Worker.aclose(worker))
    # The hand-backs side by side: one after another, a worker holding ten shards on a loaded
    # machine met its stop deadline with three still held.
    assert said == [
        *("last pass 0", "last pass 1"),
        *("hand back 0", "hand back 1", "handed back 0", "handed back 1"),
    ]


def test_a_hand_back_the_store_refuses_leaves_the_others_to_finish() -> None:
    said: list[str] = []
    worker: Any = SimpleNamespace(locks=ShardLocks(), traders={0: None, 1: None, 2: None})

    async def hand_back(shard: int) -> bool:
        said.append(f"hand back {shard}")
        await asyncio.sleep(0)
        if shard == 0:
            raise StoreError("The database refused the checkpoint.")
        if shard == 1:
            raise RuntimeError("a bug in one shard's hand-back")
        said.append(f"handed back {shard}")
        return True

    worker._hand_back = hand_back
    with pytest.raises(RuntimeError, match="a bug in one shard"):
        asyncio.run(Worker._hand_backs(worker))
    # The store's refusal is the next holder's to reconcile; the bug is raised, but only once
    # every other shard was handed back.
    assert said == ["hand back 0", "hand back 1", "hand back 2", "handed back 2"]


class _Passes:
    """A reconciler whose passes find differences until the ``clean_from``-th, and the order
    things happened in."""

    def __init__(self, clean_from: int, seen: list[str]) -> None:
        self.clean_from = clean_from
        self.seen = seen

    async def run(self, engine: object, accounts: object = None, reason: str = "") -> Any:
        self.seen.append(reason)
        left = [] if self.seen.count(reason) >= self.clean_from else ["a fill still landing"]
        return SimpleNamespace(differences=left)


def _stub_engine(seen: list[str]) -> Any:
    async def cancel_entries(acct: object) -> None:
        seen.append(f"cancel entries of {acct}")

    return SimpleNamespace(
        accounts={"a1": "a1"},
        executor=SimpleNamespace(cancel_entries=cancel_entries),
        venue=SimpleNamespace(instrument=None),
        clock=SimpleNamespace(now_ms=lambda: 0),
        owed="",
    )


def test_a_last_pass_cancels_working_entries_first_and_runs_again_while_fills_land(
    monkeypatch: Any,
) -> None:
    from rampart.trading.reconcile import last_pass as module

    monkeypatch.setattr(module, "bare_positions", lambda *args: [])
    seen: list[str] = []
    result = asyncio.run(last_pass(_stub_engine(seen), _Passes(3, seen)))  # type: ignore[arg-type]
    # No entry goes on buying coins after the process has gone: canceled before the passes.
    assert seen == ["cancel entries of a1", "stop", "stop", "stop"]
    assert result.clean, result.text

    seen.clear()
    stuck = asyncio.run(last_pass(_stub_engine(seen), _Passes(99, seen)))  # type: ignore[arg-type]
    assert seen.count("stop") == module.LAST_PASS_TRIES
    assert not stuck.clean and "a fill still landing" in stuck.text
