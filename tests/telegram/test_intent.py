"""Investor intent wins over the agent: after /close the agent does
not buy the coin back until /allow or the cool-down; it never closes a position the investor
opened; a /demo account is not traded by its agent; an operator's pause is the operator's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from rampart.clock import SimClock
from rampart.domain.events import IntentRejected, OrderUpdated
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import OrderRole, Side
from rampart.operator.investors import restore_investor_accounts
from rampart.telegram import vibe
from rampart.trading.account import AccountRuntime
from rampart.trading.investor_holds import InvestorHolds
from rampart.wiring.instruments import instruments_for
from rampart.wiring.session import TradingSession
from tests.telegram.conftest import ALICE, OPERATOR, SYMBOLS, TgService

DAY_MS = 24 * 3_600_000


def _agent_intent(
    svc: TgService, acct: AccountRuntime, symbol: str, action: IntentAction
) -> Intent:
    """What the account's trend agent would propose on ``symbol`` now, with a valid bracket."""
    intent = _agent_intent_on(svc.session.engine.marks, acct, symbol, svc.clock.now_ms())
    if action is IntentAction.OPEN:
        return intent
    return replace(intent, action=action, side=Side.SELL)


def _agent_intent_on(
    marks: Mapping[str, Decimal], acct: AccountRuntime, symbol: str, now: int
) -> Intent:
    p = vibe.parse(f"long {symbol}", acct.spec.symbols, marks, acct.profile)
    return Intent(
        account_id=acct.account_id,
        symbol=symbol,
        side=Side.BUY,
        action=IntentAction.OPEN,
        entry_price=p.entry,
        stop_loss=p.stop_loss,
        take_profit=p.take_profit,
        agent="trend",
        rationale="ema cross",
        ts=now,
    )


async def _agent(svc: TgService, acct: AccountRuntime, symbol: str, action: IntentAction) -> bool:
    async with svc.lock:
        return await svc.session.engine.handle_intent(
            acct, _agent_intent(svc, acct, symbol, action)
        )


def test_close_holds_the_coin_from_the_agent_until_allow(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            acct = svc.session.engine.accounts["tg-101"]
            await svc.send(ALICE, "/vibe long ETH, tight stop, 2% target")
            assert "Order placed" in (await svc.press(ALICE, "Confirm"))[0]
            await svc.trade(2)  # the next candle of each symbol: bought at its open
            assert acct.ledger.positions["ETH/USDT"].strategy == "vibe"

            # The agent's exit signal does not close the investor's own position.
            assert not await _agent(svc, acct, "ETH/USDT", IntentAction.CLOSE)
            assert "ETH/USDT" in acct.ledger.positions
            assert acct.rejections[-1].code == "investor_position"

            ask = await svc.send(ALICE, "/close ETH")
            assert "Close ETH/USDT now, at the market price?" in ask[0]
            done = (await svc.press(ALICE, "Confirm"))[0]
            assert "Closing ETH/USDT at market" in done
            assert "will not buy ETH/USDT again until" in done and "24 h cool-down" in done
            assert "/allow ETH" in done
            await svc.trade(2)
            assert "ETH/USDT" not in acct.ledger.positions

            # The agent's next buy signal on ETH is refused with the reason, once.
            mark = len(svc.events)
            assert not await _agent(svc, acct, "ETH/USDT", IntentAction.OPEN)
            assert not await _agent(svc, acct, "ETH/USDT", IntentAction.OPEN)
            refused = [e for e in svc.events[mark:] if type(e) is IntentRejected]
            assert [e.code for e in refused] == ["investor_hold"]
            assert "does not buy ETH/USDT until" in refused[0].message
            entries = [
                e
                for e in svc.events[mark:]
                if type(e) is OrderUpdated and e.order.role is OrderRole.ENTRY
            ]
            assert entries == []
            # Other coins are the agent's as before.
            assert acct.blocked.get("BTC/USDT") != "investor_hold"

            portfolio = (await svc.send(ALICE, "/portfolio"))[0]
            assert "The agent leaves ETH/USDT alone until" in portfolio

            # The hold is in the engine's snapshot: a restart keeps it.
            snap = json.loads(json.dumps(svc.session.engine.snapshot()))
            restored = InvestorHolds()
            restored.load_dict(snap["investor_holds"])
            now = svc.clock.now_ms()
            intent = _agent_intent(svc, acct, "ETH/USDT", IntentAction.OPEN)
            assert restored.refusal(acct, intent, now) is not None
            # ... and the cool-down ends it on the business clock.
            assert restored.refusal(acct, intent, now + DAY_MS + 60_000) is None

            listed = (await svc.send(ALICE, "/allow"))[0]
            assert "ETH/USDT: until" in listed
            assert "may trade ETH/USDT again" in (await svc.send(ALICE, "/allow ETH"))[0]
            mark = len(svc.events)
            await _agent(svc, acct, "ETH/USDT", IntentAction.OPEN)
            codes = [e.code for e in svc.events[mark:] if type(e) is IntentRejected]
            assert "investor_hold" not in codes
            assert "not held" in (await svc.send(ALICE, "/allow ETH"))[0]

    asyncio.run(scenario())


def test_demo_account_is_not_traded_by_its_agent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            await svc.send(ALICE, "/demo")
            assert "Order placed" in (await svc.press(ALICE, "Confirm"))[0]
            acct = svc.session.engine.accounts["tg-101"]
            mark = len(svc.events)
            await svc.trade(1500)
            agent_orders = [
                e.order.client_id
                for e in svc.events[mark:]
                if type(e) is OrderUpdated
                and e.order.account_id == "tg-101"
                and e.order.strategy not in ("vibe", "")
                and e.order.role is OrderRole.ENTRY
            ]
            assert agent_orders == []
            held = [
                e
                for e in svc.events[mark:]
                if type(e) is IntentRejected and e.code == "investor_hold"
            ]
            assert held, "the agent kept proposing; each symbol is refused (once)"
            assert "/allow" in (await svc.send(ALICE, "/portfolio"))[0]
            assert "every coin" in (await svc.send(ALICE, "/allow all"))[0]
            assert svc.session.engine.holds.active(acct.account_id, svc.clock.now_ms()) == {}

    asyncio.run(scenario())


def test_only_the_operator_lifts_an_operator_pause(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE)
            acct = svc.session.engine.accounts["tg-101"]
            paused = (await svc.send(OPERATOR, "/pause_user tg-101 checking your exchange key"))[0]
            assert "paused" in paused and acct.paused
            assert await svc.send(ALICE, "/resume") == [
                "Your account was paused by the operator: checking your exchange key. Only "
                "the operator can resume it."
            ]
            assert acct.paused
            again = (await svc.send(ALICE, "/pause"))[0]
            assert "already paused by the operator" in again
            portfolio = (await svc.send(ALICE, "/portfolio"))[0]
            assert "Paused by the operator" in portfolio and "only the operator" in portfolio
            # Who paused survives a restart (it is in the engine's snapshot).
            controls = svc.session.engine.controls.to_dict()
            assert controls["paused_by"] == {"tg-101": f"telegram-operator:{OPERATOR}"}

            await svc.operator.resume_account("tg-101", "ops", "key checked")
            assert not acct.paused
            # The investor's own pause stays theirs to lift.
            assert "Paused" in (await svc.send(ALICE, "/pause"))[0]
            assert "Resumed" in (await svc.send(ALICE, "/resume"))[0]
            assert not acct.paused
            assert acct.spec.capital == Decimal(300)

    asyncio.run(scenario())


def test_holds_and_who_paused_survive_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.send(ALICE, "/vibe long ETH, tight stop, 2% target")
            await svc.press(ALICE, "Confirm")
            await svc.trade(2)  # the next candle of each symbol: bought at its open
            await svc.send(ALICE, "/close ETH")
            await svc.press(ALICE, "Confirm")
            await svc.send(OPERATOR, "/pause_user tg-101 key review")
            await svc.trade(1)  # the pause is saved with the next checkpoint, as the account is
            settings, now = svc.settings, svc.clock.now_ms()

        # The next start: a new session on the same database, accounts restored, then resumed.
        session = TradingSession(
            settings,
            SimClock(now),
            instruments_for(SYMBOLS),
            db_url=settings.store.url,
            checkpoint_name="run",
            accounts=[],
            checkpoint_every=settings.store.checkpoint_every,
        )
        await session.open()
        try:
            assert await restore_investor_accounts(session) == ["tg-101"]
            session.finish_resume()
            engine = session.engine
            acct = engine.accounts["tg-101"]
            assert set(engine.holds.active("tg-101", now)) == {"ETH/USDT"}
            intent = _agent_intent_on(engine.marks, acct, "ETH/USDT", now)
            assert engine.holds.refusal(acct, intent, now) is not None
            assert engine.controls.paused_by == {"tg-101": f"telegram-operator:{OPERATOR}"}
        finally:
            session.close()

    asyncio.run(scenario())


def test_a_models_proposal_shows_its_percentages_to_a_hundredth() -> None:
    from rampart.telegram.intent_cmds import _shown
    from rampart.telegram.text import pct

    # A model's stop 1.3 % under the 2,305 mark, floored to the tick: (2305 - 2275.03) / 2305.
    stop = (Decimal("2305") - Decimal("2275.03")) / Decimal("2305")
    assert pct(stop) != "1.3%"  # what the proposal showed before
    assert pct(_shown(stop)) == "1.3%"
    assert pct(_shown(Decimal("0.02010412147505422993492407809"))) == "2.01%"
