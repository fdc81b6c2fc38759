"""Flatten closes every position of the account, not the first one only (mutant N9:
the stand-down's loop ended after its first symbol and no test noticed, since every flatten
test held one position). The automatic pause on one position's loss flattens through the same
code: the account's other position is closed with it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.agents.base import AgentView
from rampart.clock import SimClock
from rampart.domain.accounts import AccountSpec
from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import dec
from rampart.domain.orders import OrderRole, Side
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.venues.paper import PaperVenue

from .helpers import INSTRUMENT, MINUTE, SYMBOL, ScriptedAgent

D = Decimal
OTHER = "ETH/USDT"
SYMBOLS = (SYMBOL, OTHER)
"""Sorted: the mutant keeps closing BTC, the first, and leaves ETH open."""
OTHER_INSTRUMENT = Instrument(OTHER, "ETH", "USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"))


def _long_once(i: int, view: AgentView) -> list[Intent]:
    """A long on each symbol's first candle: entry at the close, stop 2 % below, target 4 %
    above (both symbols trade at 100, so each position's risk is the same)."""
    if i >= len(SYMBOLS):
        return []
    entry = dec(view.candle.close)
    return [
        Intent(
            view.account_id,
            view.symbol,
            Side.BUY,
            IntentAction.OPEN,
            entry,
            view.instrument.round_price(entry * D("0.98")),
            view.instrument.round_price(entry * D("1.04")),
            agent="scripted",
            ts=view.ts,
        )
    ]


async def _holding_two(profile: str) -> Engine:
    clock = SimClock(0)
    venue = PaperVenue({SYMBOL: INSTRUMENT, OTHER: OTHER_INSTRUMENT}, clock=clock)
    venue.core.market_at_once = True  # an exchange's fill, as helpers.build explains
    agent = ScriptedAgent(_long_once)
    engine = Engine(
        venue=venue,
        clock=clock,
        bus=EventBus(),
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=get_profile,
        taker_fee=D("0.001"),
    )
    await engine.add_account(AccountSpec("a1", "scripted", profile, D(10000), SYMBOLS))
    clock.set(MINUTE)
    for symbol in SYMBOLS:
        await engine.on_candle(Candle(symbol, 0, 100, 101, 99, 100, 1e6, MINUTE))
    acct = engine.accounts["a1"]
    assert sorted(acct.ledger.positions) == list(SYMBOLS)
    return engine


def _exits(engine: Engine) -> dict[str, Decimal]:
    """Per symbol, the quantity of the exits sent (working or filled)."""
    acct = engine.accounts["a1"]
    orders = list(acct.orders.values()) + list(acct.recent_orders)
    sent: dict[str, Decimal] = {}
    for order in {o.client_id: o for o in orders if o.role is OrderRole.EXIT}.values():
        sent[order.symbol] = sent.get(order.symbol, D(0)) + order.qty
    return sent


def test_a_pause_with_flatten_closes_both_positions_of_the_account() -> None:
    async def scenario() -> None:
        engine = await _holding_two("moderate")
        acct = engine.accounts["a1"]
        held = {s: p.qty for s, p in acct.ledger.positions.items()}
        await engine.controls.pause_account("a1", "ops", "risk review", flatten=True)
        assert acct.ledger.positions == {}
        assert _exits(engine) == held  # one exit per position, each for all of it
        assert acct.orders == {}  # the brackets of both went with them

    asyncio.run(scenario())


def test_the_kill_switch_with_flatten_closes_both_positions() -> None:
    async def scenario() -> None:
        engine = await _holding_two("moderate")
        await engine.controls.engage_kill_switch("ops", "exchange outage", flatten=True)
        assert engine.accounts["a1"].ledger.positions == {}

    asyncio.run(scenario())


def test_one_positions_loss_past_the_kill_amount_flattens_the_other_too() -> None:
    """Conservative: one position losing more than 50 USDT pauses and flattens the account;
    the other position, not losing, is closed too (the pause's flatten is account-wide)."""

    async def scenario() -> None:
        engine = await _holding_two("conservative")
        acct = engine.accounts["a1"]
        # BTC gaps down past its stop (the stop does not fill: no candle reaches the venue).
        engine.marks[SYMBOL] = D(90)
        engine.marks[OTHER] = D(100)
        lost = -acct.ledger.positions[SYMBOL].net_pnl(D(90))
        assert lost > 50
        assert -acct.ledger.positions[OTHER].net_pnl(D(100)) < 50
        acting = engine.guard.account(acct, SYMBOL, engine.clock.now_ms())
        if acting is not None:
            await acting
        assert acct.paused
        assert acct.ledger.positions == {}
        assert set(_exits(engine)) == set(SYMBOLS)

    asyncio.run(scenario())
