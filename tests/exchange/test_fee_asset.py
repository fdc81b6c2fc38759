"""The commission in the asset Binance takes it in, booked in that asset: a buy's fee comes out of
the BTC received, so the books hold what the account holds and every protective order and exit
is sized to it; a fee paid in BNB is booked in BNB and valued in USDT."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from rampart.agents.base import AgentView
from rampart.domain.accounts import AccountSpec
from rampart.domain.events import Event, TradeClosed
from rampart.domain.intents import Intent
from rampart.domain.orders import OrderRole, OrderStatus
from rampart.risk.profiles import get_profile
from rampart.trading.bus import EventBus
from rampart.trading.engine import Engine
from rampart.trading.reconcile.reconciler import Reconciler
from rampart.venues.charging import Charging

from ..trading.helpers import ScriptedAgent, long_intent
from .helpers import SYMBOL, Rig, rig

D = Decimal
TIGHT = {"moderate": {"min_stop": "0.001", "min_rr": "1"}}


def _enter_once() -> ScriptedAgent:
    def script(i: int, view: AgentView) -> list[Intent]:
        return [long_intent(view, "0.99", "1.01")] if i == 0 else []

    return ScriptedAgent(script)


async def _engine(r: Rig) -> tuple[Engine, list[Event]]:
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    agent = _enter_once()
    engine = Engine(
        venue=r.venue,
        clock=r.clock,
        bus=bus,
        make_agent=lambda name, params: agent,  # type: ignore[arg-type,return-value]
        profile_for=lambda name: get_profile(name, TIGHT),
        taker_fee=D("0.001"),
    )
    await engine.add_account(AccountSpec("a1", "scripted", "moderate", D("10000"), (SYMBOL,)))
    return engine, events


async def _step(r: Rig, engine: Engine) -> None:
    for candle in await r.advance(1):
        if candle.symbol == SYMBOL:
            await engine.on_candle(candle)


def _held(r: Rig, asset: str) -> Decimal:
    balance = r.sim.exchange.sub("a1").balances().get(asset)
    return balance.total if balance is not None else D(0)


def test_a_buy_paid_in_btc_is_booked_as_held_and_its_bracket_and_exit_fit_the_holding() -> None:
    async def go() -> None:
        async with rig(charging=Charging()) as r:
            engine, events = await _engine(r)
            acct = engine.accounts["a1"]
            await _step(r, engine)
            [bought] = list(r.sim.exchange.trades["a1"])
            assert bought.commission_asset == "BTC"
            held = _held(r, "BTC")
            assert held == bought.qty - bought.commission
            books = acct.ledger.positions[SYMBOL].qty
            stops = [
                o
                for o in r.sim.exchange.sub("a1").open.values()
                if o.type.value == "stop_market" and o.side.value == "sell"
            ]
            rejected = [o.client_id for o in acct.recent_orders if o.status is OrderStatus.REJECTED]
            report = await Reconciler().run(engine, reason="interval")
            await engine.executor.exit_position(acct, SYMBOL, "closing by hand")
            exit_order = [o for o in acct.recent_orders if o.role is OrderRole.EXIT][-1]
            for _ in range(3):
                await _step(r, engine)
            closed = [e.trade for e in events if isinstance(e, TradeClosed)]
            found = {
                "books": books,
                "stop on the exchange": [o.qty for o in stops],
                "orders refused": rejected,
                "reconciliation repairs": dict(report.repairs),
                "exit": exit_order.status,
                "closed": len(closed),
            }
            want = {
                "books": held,
                "stop on the exchange": [r.venue.instrument(SYMBOL).floor_qty(held)],
                "orders refused": [],
                "reconciliation repairs": {},
                "exit": OrderStatus.FILLED,
                "closed": 1,
            }
            assert found == want
            # What one lot cannot express stays on the exchange as dust the books carry.
            dust = _held(r, "BTC")
            assert D(0) <= dust < r.venue.instrument(SYMBOL).lot_size
            assert acct.ledger.dust.get(SYMBOL, D(0)) == dust
            assert acct.ledger.cash == _held(r, "USDT")
            assert SYMBOL not in acct.ledger.positions
            assert engine.violations == 0

    asyncio.run(go())


def test_a_fee_paid_in_bnb_is_booked_in_bnb_and_valued_in_usdt() -> None:
    async def go() -> None:
        async with rig(
            symbols=(SYMBOL, "BNB/USDT"),
            accounts={"a1": {"USDT": "10000", "BNB": "5"}},
            bnb_fees=("a1",),
            charging=Charging(),
        ) as r:
            engine, _ = await _engine(r)
            acct = engine.accounts["a1"]
            await _step(r, engine)
            [bought] = list(r.sim.exchange.trades["a1"])
            assert bought.commission_asset == "BNB"
            bnb = r.sim.exchange.last_price("BNB/USDT")
            ledger = acct.ledger
            found = {
                "position": ledger.positions[SYMBOL].qty,
                "cash": ledger.cash,
                "fees in BNB": getattr(ledger, "fee_assets", {}).get("BNB"),
                "fees valued": ledger.fees_paid,
            }
            want = {
                "position": _held(r, "BTC"),
                "cash": _held(r, "USDT"),
                "fees in BNB": bought.commission,
                "fees valued": bought.commission * bnb,
            }
            assert found == want
            assert engine.violations == 0

    asyncio.run(go())
