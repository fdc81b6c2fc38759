"""A shard taken over on an exchange trades once its orders and positions are known from the
venue, without waiting for the venue's trade history (issue 69, goal 5); the full pass with the
verdict (trades compared by id) follows once it trades.

After a kill -9 under 4x CPU, a take's reconciliation took up to 9.3 s before the shard's first
candle, most of it the verdict: open orders and balances read a second time and the trade
history compared with the books, none of which changes the books. The real ccxt client against
the exchange simulator, the shard's store on PostgreSQL; the venue's trade-history read is held
on an event the test controls, so the order of things is proven without any wall-clock wait."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from rampart.clock import SimClock
from rampart.config import Settings, load_settings
from rampart.domain.fills import Fill
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.venues.ccxt_venue import CcxtVenue
from rampart.wiring.shard import ShardTrader
from rampart.wiring.venues import load_instruments
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
    return ShardTrader(
        0, 1, settings, SimClock(sim.exchange.now_ms), instruments,
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
            await taker.drop()

    asyncio.run(go())
