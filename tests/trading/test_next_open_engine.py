"""The engine on the paper venue's own fill model (every replay, trial, check and paper run on
candles): an entry decided on candle t is bought at candle t+1's open, its bracket rests from
that open on (a stop-out on t+1 itself is not skipped), and an exit decided on a candle sells
at the next open."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.agents.base import AgentView
from rampart.domain.events import TradeClosed
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, Side

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed, long_intent

D = Decimal


def _close(view: AgentView) -> list[Intent]:
    return [
        Intent(
            view.account_id,
            SYMBOL,
            Side.SELL,
            IntentAction.CLOSE,
            D(100),
            agent="scripted",
            ts=view.ts,
        )
    ]


def test_an_entry_decided_on_a_close_is_bought_at_the_next_open() -> None:
    async def go() -> None:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, _venue, clock, _bus = await build(agent, at_once=False)
        acct = engine.accounts["a1"]
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        assert SYMBOL not in acct.ledger.positions  # decided after the close: nothing bought
        [entry] = acct.open_orders(SYMBOL, roles=(OrderRole.ENTRY,))
        await feed(engine, clock, [candle(1, 102, 103, 101.5, 102.5)])
        pos = acct.ledger.positions[SYMBOL]
        # The open of 102 with 2 bps of slippage, on the tick: 102.03 (not the close of 100).
        assert pos.avg_price == D("102.03") and pos.entry_client_id == entry.client_id
        assert (pos.stop_loss, pos.take_profit) == (D(98), D(104))
        assert {o.role for o in acct.open_orders(SYMBOL)} == {
            OrderRole.STOP_LOSS,
            OrderRole.TAKE_PROFIT,
        }

    asyncio.run(go())


def test_an_entry_stopped_out_on_the_candle_it_was_bought_is_closed_on_that_candle() -> None:
    async def go() -> None:
        agent = ScriptedAgent(lambda i, view: [long_intent(view, "0.98", "1.04")] if i == 0 else [])
        engine, _venue, clock, bus = await build(agent, at_once=False)
        closed: list[TradeClosed] = []
        bus.subscribe(lambda e: closed.append(e) if isinstance(e, TradeClosed) else None)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100), candle(1, 100, 100.5, 97, 97.5)])
        assert SYMBOL not in engine.accounts["a1"].ledger.positions
        [trade] = [e.trade for e in closed]
        # Bought at the open (100.03), sold by the stop at 98 less its slippage (97.98).
        assert (trade.entry_price, trade.exit_price) == (D("100.03"), D("97.98"))
        assert trade.closed_at == candle(1, 1, 1, 1, 1).close_ts

    asyncio.run(go())


def test_an_exit_decided_on_a_close_sells_at_the_next_open() -> None:
    async def go() -> None:
        def script(i: int, view: AgentView) -> list[Intent]:
            if i == 0:
                return [long_intent(view, "0.98", "1.04")]
            return _close(view) if i == 2 else []

        engine, _venue, clock, bus = await build(ScriptedAgent(script), at_once=False)
        closed: list[TradeClosed] = []
        bus.subscribe(lambda e: closed.append(e) if isinstance(e, TradeClosed) else None)
        candles = [
            candle(0, 100, 101, 99, 100),
            candle(1, 100, 101, 99.5, 101),
            candle(2, 101, 103, 100.5, 103),  # decided here, at a close of 103
        ]
        await feed(engine, clock, candles)
        assert SYMBOL in engine.accounts["a1"].ledger.positions and not closed
        await feed(engine, clock, [candle(3, 101.5, 102, 101, 101.8)])
        [trade] = [e.trade for e in closed]
        # The open of 101.5 less 2 bps, rounded down: 101.47 (not the 103 it was decided on).
        assert trade.exit_price == D("101.47")

    asyncio.run(go())
