"""The engine end to end on the paper venue: brackets, exits, kill switch, breakers, restart."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.domain.accounts import TradingState
from rampart.domain.events import Event, IntentRejected, KillSwitchChanged, TradeClosed
from rampart.domain.intents import Intent
from rampart.domain.orders import OrderStatus, Side

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent


def long_at(index: int, stop_pct: str = "0.02", rr: str = "2") -> ScriptedAgent:
    stop = Decimal(stop_pct)
    take = stop * Decimal(rr)

    def script(i: int, view) -> list[Intent]:
        return [long_intent(view, str(1 - stop), str(1 + take))] if i == index else []

    return ScriptedAgent(script)


def collect(bus) -> list[Event]:
    events: list[Event] = []
    bus.subscribe(events.append)
    return events


def test_entry_gets_a_bracket_and_the_stop_closes_it() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(long_at(0))
        events = collect(bus)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        acct = engine.accounts["a1"]
        pos = acct.ledger.positions[SYMBOL]
        roles = sorted(o.role.value for o in acct.orders.values())
        assert roles == ["stop_loss", "take_profit"]
        assert all(o.qty == pos.qty for o in acct.orders.values())
        assert pos.stop_loss == Decimal("98.00") and pos.take_profit == Decimal("104.00")
        # One bar touches both the stop (98) and the target (104): the stop fills first.
        await feed(engine, clock, [candle(1, 100, 105, 97, 101)])
        assert SYMBOL not in acct.ledger.positions
        trades = [e.trade for e in events if isinstance(e, TradeClosed)]
        assert len(trades) == 1 and trades[0].exit_reason == "stop_loss"
        assert trades[0].pnl < 0
        assert acct.orders == {}  # the take-profit was canceled with it
        assert engine.violations == 0

    asyncio.run(go())


def test_take_profit_closes_with_a_win_and_maker_fee() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(long_at(0))
        events = collect(bus)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100), candle(1, 100, 105, 99.5, 104)])
        trades = [e.trade for e in events if isinstance(e, TradeClosed)]
        assert len(trades) == 1 and trades[0].exit_reason == "take_profit"
        assert trades[0].exit_price == Decimal("104.00") and trades[0].pnl > 0

    asyncio.run(go())


def test_risk_rejection_is_recorded_with_a_sentence() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(long_at(0, stop_pct="0.002"))
        events = collect(bus)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        rejected = [e for e in events if isinstance(e, IntentRejected)]
        assert len(rejected) == 1
        assert rejected[0].code == "stop_too_tight"
        assert "%" in rejected[0].message
        assert engine.accounts["a1"].ledger.positions == {}

    asyncio.run(go())


def test_kill_switch_with_flatten_closes_positions_and_blocks_entries() -> None:
    async def go() -> None:
        def script(i: int, view) -> list[Intent]:
            return [long_intent(view, "0.98", "1.05")]

        engine, venue, clock, bus = await build(ScriptedAgent(script), accounts=("a1", "a2"))
        events = collect(bus)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert all(SYMBOL in a.ledger.positions for a in engine.accounts.values())
        await engine.controls.engage_kill_switch("operator", "drill", flatten=True)
        assert all(a.ledger.positions == {} for a in engine.accounts.values())
        assert all(a.orders == {} for a in engine.accounts.values())
        kills = [e for e in events if isinstance(e, KillSwitchChanged)]
        assert kills[0].engaged and kills[0].actor == "operator" and kills[0].flatten
        await feed(engine, clock, [candle(1, 100, 101, 99, 100)])
        assert all(a.ledger.positions == {} for a in engine.accounts.values())
        codes = {e.code for e in events if isinstance(e, IntentRejected)}
        assert codes == {"kill_switch"}
        await engine.controls.release_kill_switch("operator", "drill over")
        await feed(engine, clock, [candle(2, 100, 101, 99, 100)])
        assert all(SYMBOL in a.ledger.positions for a in engine.accounts.values())

    asyncio.run(go())


def test_pause_blocks_entries_for_that_account_only() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(long_at(0), accounts=("a1", "a2"))
        await engine.controls.pause_account("a1", actor="investor", reason="holiday")
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert engine.accounts["a1"].ledger.positions == {}
        assert SYMBOL in engine.accounts["a2"].ledger.positions
        assert engine.accounts["a1"].rejections[-1].code == "account_paused"

    asyncio.run(go())


def test_daily_loss_breaker_halts_the_account() -> None:
    async def go() -> None:
        engine, venue, clock, bus = await build(long_at(0, stop_pct="0.03"), profile="conservative")
        acct = engine.accounts["a1"]
        # A gap far through the stop: the loss exceeds the 2 % daily limit of conservative.
        await feed(engine, clock, [candle(0, 100, 101, 99, 100), candle(1, 60, 61, 59, 60)])
        assert acct.state is TradingState.HALTED
        assert acct.breakers.halted_by in {"daily_loss", "max_drawdown"}

    asyncio.run(go())


def test_client_ids_are_deterministic_and_unique() -> None:
    async def go() -> list[str]:
        engine, venue, clock, bus = await build(long_at(0))
        await feed(engine, clock, [candle(0, 100, 101, 99, 100), candle(1, 100, 105, 97, 101)])
        ids = [o.client_id for o in engine.accounts["a1"].recent_orders]
        assert len(ids) == len(set(ids))
        return ids

    assert asyncio.run(go()) == asyncio.run(go())


def test_snapshot_restore_continues_identically() -> None:
    candles = [
        candle(i, 100 + i % 5, 102 + i % 5, 97 + i % 5, 100 + (i * 7) % 6) for i in range(40)
    ]

    def every_fifth(i: int, view) -> list[Intent]:
        return [] if i % 5 else [long_intent(view, "0.98", "1.03")]

    async def straight() -> tuple[Decimal, list]:
        engine, venue, clock, bus = await build(ScriptedAgent(every_fifth))
        events = collect(bus)
        await feed(engine, clock, candles)
        return engine.equity("a1"), [e.trade for e in events if isinstance(e, TradeClosed)]

    async def interrupted() -> tuple[Decimal, list]:
        engine, venue, clock, bus = await build(ScriptedAgent(every_fifth))
        events = collect(bus)
        await feed(engine, clock, candles[:17])
        snap = engine.snapshot()
        engine2, venue2, clock2, bus2 = await build(ScriptedAgent(every_fifth))
        bus2.subscribe(events.append)
        for c in candles[:17]:
            engine2.warm(c)
        engine2.load_snapshot(snap)
        await feed(engine2, clock2, candles[17:])
        return engine2.equity("a1"), [e.trade for e in events if isinstance(e, TradeClosed)]

    eq1, trades1 = asyncio.run(straight())
    eq2, trades2 = asyncio.run(interrupted())
    assert trades1 and trades1 == trades2
    assert eq1 == eq2


def test_unknown_report_does_not_crash_the_engine() -> None:
    async def go() -> None:
        from rampart.trading.ports import VenueReport

        engine, venue, clock, bus = await build(long_at(0))
        engine.executor.deliver(VenueReport("a1", "nope", OrderStatus.FILLED, 0))
        await engine.executor.drain()
        assert len(engine.executor.unmatched_reports) == 1

    asyncio.run(go())


def test_order_snapshot_copies_every_field() -> None:
    from dataclasses import fields

    from rampart.domain.orders import Order, OrderRole, OrderType

    order = Order(
        "c1",
        "a1",
        SYMBOL,
        Side.SELL,
        OrderType.STOP_LIMIT,
        Decimal("2"),
        OrderRole.STOP_LOSS,
        Decimal("9"),
        Decimal("10"),
        venue_order_id="v",
        oco_group="g",
        parent_id="p",
        strategy="s",
        created_at=1,
        updated_at=2,
        reason="r",
    )
    order.transition(OrderStatus.SUBMITTED, 3)
    copy = order.snapshot()
    assert all(getattr(copy, f.name) == getattr(order, f.name) for f in fields(Order))
    order.transition(OrderStatus.CANCELED, 4)
    assert copy.status is OrderStatus.SUBMITTED and len(copy.history) == 1


def test_a_quiet_agent_is_not_asked_and_its_positions_are_still_guarded() -> None:
    """An agent that says it has nothing to say on a bar (``quiet``) gets no view built and
    no decide call; the brackets, the monitor and the breakers run on that bar all the same."""

    class QuietAfterEntry(ScriptedAgent):
        asked = 0

        @property
        def quiet(self) -> bool:
            return self.index > 0

        def decide(self, view) -> list[Intent]:
            self.asked += 1
            return super().decide(view)

    async def go() -> None:
        agent = QuietAfterEntry(long_at(0).script)
        engine, venue, clock, bus = await build(agent, accounts=("a1", "a2"))
        events = collect(bus)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert agent.asked == 2  # once per account on the entry bar
        await feed(engine, clock, [candle(1, 100, 100.5, 99.5, 100), candle(2, 100, 105, 97, 101)])
        assert agent.asked == 2
        trades = [e.trade for e in events if isinstance(e, TradeClosed)]
        assert sorted(t.account_id for t in trades) == ["a1", "a2"]
        assert all(t.exit_reason == "stop_loss" for t in trades)
        assert engine.violations == 0

    asyncio.run(go())
