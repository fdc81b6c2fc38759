"""A moved stop through the ccxt venue against the exchange simulator: Binance cannot
re-price a resting OCO in place, so the engine cancels the pair and places it again at the new
stop, its position monitor holding the new stop in between; on the exchange the stop rests at
the new price and the position is protected after every candle."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.agents.adjust import move_stop
from rampart.agents.base import AgentView
from rampart.domain.intents import Intent
from rampart.domain.money import dec

from ..trading.helpers import ScriptedAgent, long_intent
from .helpers import SYMBOL, rig
from .test_engine_sim import _engine, _step

D = Decimal


def _mover() -> tuple[ScriptedAgent, list[Decimal]]:
    """A long on the first candle; on the third, its stop moved halfway up to the close."""
    asked: list[Decimal] = []

    def script(i: int, view: AgentView) -> list[Intent]:
        if i == 0:
            return [long_intent(view, "0.995", "1.01")]
        pos = view.position
        if i == 2 and pos is not None:
            halfway = view.instrument.round_price((pos.stop_loss + dec(view.candle.close)) / 2)
            asked.append(halfway)
            return move_stop(view, "scripted", stop=halfway)
        return []

    return ScriptedAgent(script), asked


def test_a_moved_stop_rests_on_the_exchange_at_its_new_price() -> None:
    async def go() -> None:
        async with rig() as r:
            agent, asked = _mover()
            engine, _events = await _engine(r, agent)
            acct = engine.accounts["a1"]
            for _ in range(5):
                await _step(r, engine)
                pos = acct.ledger.positions.get(SYMBOL)
                if pos is not None:
                    assert engine.executor.is_protected(acct, pos)
            (moved,) = asked
            pos = acct.ledger.positions[SYMBOL]
            assert pos.stop_loss == moved > pos.initial_stop
            stops = [o for o in r.sim.exchange.sub("a1").open.values() if o.stop_price is not None]
            assert [o.stop_price for o in stops] == [moved]
            assert not acct.rejections and engine.violations == 0

    asyncio.run(go())
