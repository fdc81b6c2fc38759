"""A shard taken over on an exchange trades once its orders and positions are known from the
venue, without waiting for the venue's trade history; the full pass with the
verdict (trades compared by id) follows once it trades.

After a kill -9 under 4x CPU, a take's reconciliation took up to 9.3 s before the shard's first
candle, most of it the verdict: open orders and balances read a second time and the trade
history compared with the books, none of which changes the books. The real ccxt client against
the exchange simulator, the shard's store on PostgreSQL; the venue's trade-history read is held
on an event the test controls, so the order of things is proven without any wall-clock wait.
The worker's side (the pass after the take waits for the other takes and the shard's lock) is
checked on stand-ins."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.domain.fills import Fill
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.fleet.lease_open import check_after_take
from rampart.fleet.lease_takes import Takeovers
from rampart.fleet.shard_locks import ShardLocks
from rampart.observability.scale_metrics import ScaleMetrics
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.wiring.fleet_parts import shard_trader
from rampart.wiring.venue_kinds import load_instruments
from rampart_testkit.simulator import start_simulator
from rampart_testkit.simulator.runner import SimulatorHandle

SYMBOL = "BTC/USDT"
HANG_GUARD_S = 60.0
"""Only so that a broken test fails instead of hanging."""


def _settings(pg_url: str, sim: SimulatorHandle) -> Settings:
    key, secret = sim.create_account({"USDT": "10000"}, account_id="a1")
    return load_settings(
        store={"url": pg_url},
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


def _trader(settings: Settings, sim: SimulatorHandle, instruments: dict[str, Instrument]) -> Any:
    return shard_trader(
        settings, 0, 1, SimClock(sim.exchange.now_ms), instruments,
        db=None, fence=lambda conn: None, wrap_venue=lambda v: v,
    )  # fmt: skip


def _stopped(sim: SimulatorHandle) -> Decimal:
    """What the account's resting stops on the exchange would sell."""
    orders = sim.exchange.state()["accounts"]["a1"]["open_orders"]
    return sum(
        (Decimal(o["qty"]) for o in orders if o["type"] == "stop_market" and o["side"] == "sell"),
        Decimal(0),
    )


async def _holder_with_a_position(settings: Settings, sim: SimulatorHandle) -> Decimal:
    """The shard's last holder: an entry filled and stopped, its checkpoint saved, then gone.
    The quantity it holds."""
    instruments = await load_instruments(settings, [SYMBOL])
    holder = _trader(settings, sim, instruments)
    await holder.take([])
    for candle in sim.exchange.tape_last():
        await holder.trade(candle)
    acct = holder.engine.accounts["a1"]
    price = sim.exchange.last_price(SYMBOL)
    inst = holder.engine.venue.instrument(SYMBOL)
    intent = Intent(
        "a1", SYMBOL, Side.BUY, IntentAction.OPEN, price,
        inst.round_price(price * Decimal("0.98")), inst.round_price(price * Decimal("1.03")),
        agent="scripted", ts=sim.exchange.now_ms,
    )  # fmt: skip
    assert await holder.engine.handle_intent(acct, intent), acct.rejections
    for _ in range(10):  # filled, booked and stopped (the simulator fills it at once)
        position = acct.ledger.positions.get(SYMBOL)
        if (
            position is not None
            and position.qty > 0
            and _stopped(sim) == inst.floor_qty(position.qty)
        ):
            break
        await sim.advance(1)
        await holder.follow(sim.exchange.now_ms)
    held = acct.ledger.positions[SYMBOL].qty
    assert held > 0 and _stopped(sim) == inst.floor_qty(held)  # the whole, to the lot
    assert await holder.session.checkpoint_off_loop()
    await holder.drop()
    return held


def test_a_taken_shard_trades_before_the_trade_history_is_read_and_the_verdict_follows(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def go() -> None:
        async with start_simulator(symbols=[SYMBOL]) as sim:
            await sim.advance(3)
            settings = _settings(pg_url, sim)
            held = await _holder_with_a_position(settings, sim)

            asked = asyncio.Event()
            answer = asyncio.Event()
            original = CcxtVenue.fetch_fills

            async def held_history(self: CcxtVenue, *args: Any, **kwargs: Any) -> list[Fill]:
                asked.set()
                await answer.wait()  # the exchange's trade history, as slow as the test says
                return await original(self, *args, **kwargs)

            monkeypatch.setattr(CcxtVenue, "fetch_fills", held_history)
            instruments = await load_instruments(settings, [SYMBOL])
            taker = _trader(settings, sim, instruments)
            take = asyncio.create_task(taker.take([]))
            history = asyncio.create_task(asked.wait())
            done, _ = await asyncio.wait(
                {take, history}, timeout=HANG_GUARD_S, return_when=asyncio.FIRST_COMPLETED
            )
            assert take in done and not asked.is_set(), "the take waited on the trade history"
            take.result()
            # What a new order's safety needs is known: the position, under its stop.
            assert taker.trading
            assert taker.engine.accounts["a1"].ledger.positions[SYMBOL].qty == held
            assert _stopped(sim) == taker.engine.venue.instrument(SYMBOL).floor_qty(held)
            assert taker.reconciler.unrepaired == {}  # no verdict yet: nothing said either way

            check = asyncio.create_task(taker.check())  # as the worker runs it, once it trades
            await asyncio.wait_for(asked.wait(), HANG_GUARD_S)
            assert not check.done()  # the verdict reads the trade history
            answer.set()
            await asyncio.wait_for(check, HANG_GUARD_S)
            assert taker.reconciler.runs == 2
            assert taker.reconciler.unrepaired == {}  # the books match the venue
            # That pass stands for the shard's next interval pass, not for every one after.
            assert not taker.interval_due()
            assert taker.interval_due()
            await taker.drop()

    asyncio.run(go())


class _Checked:
    """A shard's trader as :func:`check_after_take` sees it."""

    def __init__(self, shard: int, token: int) -> None:
        self.shard = shard
        self.token = token
        self.checks = 0

    async def check(self) -> None:
        self.checks += 1


def _worker(clock: SimClock, trader: _Checked) -> Any:
    lease = SimpleNamespace(token=trader.token)
    leases = SimpleNamespace(leases={trader.shard: lease}, valid=lambda shard: True)
    return SimpleNamespace(
        takes=Takeovers(ScaleMetrics(CollectorRegistry()), clock),
        traders={trader.shard: trader},
        locks=ShardLocks(),
        stop=asyncio.Event(),
        leases=leases,
        progress=asyncio.Condition(),
    )


async def _decided(worker: Any, shard: int) -> None:
    """A candle traded on ``shard``, its first since the claim (as the worker says it)."""
    worker.takes.decided(shard)
    async with worker.progress:
        worker.progress.notify_all()


async def _spin(times: int = 20) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


def test_the_verdict_after_a_take_waits_for_its_first_decision_the_other_takes_and_its_lock() -> (
    None
):
    """The worker's side: the full pass after a take comes after the shard's own first
    decision (at the overload bench's max defer, it held the lock of a shard still awaiting
    it, and the candles of every shard of the worker waited behind that lock), leaves the CPU
    to the shards still being taken or awaiting their first candle, and skips a shard that
    moved on."""

    async def go() -> None:
        clock = SimClock(1_000_000)
        trader = _Checked(1, token=7)
        worker = _worker(clock, trader)
        worker.takes.claimed(1, None)  # the shard awaits its first decision
        # However short the wait for the other takes: never before its own first decision.
        early = asyncio.create_task(check_after_take(worker, trader, max_defer_s=0))
        await _spin()
        assert trader.checks == 0
        early.cancel()
        worker.takes.claimed(2, None)  # another shard taken with it awaits its first decision
        checking = asyncio.create_task(check_after_take(worker, trader))
        await _decided(worker, 1)
        await _spin()
        assert trader.checks == 0  # the CPU to the take still under way
        await _decided(worker, 2)
        async with worker.locks(1):  # the shard's candle
            await _spin()
            assert trader.checks == 0
        await asyncio.wait_for(checking, HANG_GUARD_S)
        assert trader.checks == 1
        del worker.traders[1]  # lost meanwhile: nothing to judge
        await asyncio.wait_for(check_after_take(worker, trader), HANG_GUARD_S)
        assert trader.checks == 1

    asyncio.run(go())
