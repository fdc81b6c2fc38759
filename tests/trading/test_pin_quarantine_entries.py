"""An entry on a symbol whose price the market-data guard holds in
quarantine is refused, whoever proposes it (the account's agent, an investor through the bot's
/vibe, an investor's intent by hand: the holds let those two through, the guard must not); the
same entry passes once the price is confirmed. Pins ``trading/risk_view.py``
(``data_suspect=``) and ``risk/rules.py`` ``check_staleness``."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from rampart.domain.events import Event, IntentRejected
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side

from .helpers import SYMBOL, ScriptedAgent, build, candle, feed


@pytest.mark.parametrize("who", ["scripted", "vibe", "investor"])
def test_an_entry_on_a_held_price_is_refused_and_passes_once_confirmed(who: str) -> None:
    async def run() -> tuple[list[Event], bool, bool]:
        engine, _venue, clock, bus = await build(ScriptedAgent(lambda i, view: []))
        events: list[Event] = []
        bus.subscribe(events.append)
        await feed(engine, clock, [candle(0, 100, 101, 99, 100)])
        acct = engine.accounts["a1"]
        intent = Intent(
            "a1", SYMBOL, Side.BUY, IntentAction.OPEN, Decimal(100), Decimal(98), Decimal(104),
            agent=who, ts=clock.now_ms(),
        )  # fmt: skip
        engine.suspect_symbols.add(SYMBOL)  # what the guard does while it holds a price
        held = await engine.handle_intent(acct, intent)
        engine.suspect_symbols.discard(SYMBOL)  # the next reading confirmed it
        confirmed = await engine.handle_intent(acct, intent)
        return events, held, confirmed

    events, held, confirmed = asyncio.run(run())
    refusals = [e for e in events if isinstance(e, IntentRejected)]
    assert held is False
    assert [r.code for r in refusals] == ["stale_data"]
    assert "looked wrong" in refusals[0].message
    assert confirmed is True
