"""/risk and /invest on an account that is already trading: the new limits apply at once,
capital moves as a deposit or a withdrawal of free cash (never as profit or loss), and the
rollout stage's bounds refuse up front with the stage's sentence."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rampart.domain.stages import Stage
from rampart.operator import investors as inv_store
from rampart.operator.views import DAY_MS, InvestorViews
from rampart.rollout.enforce import bring_inside
from rampart.telegram.text import signed
from tests.telegram.conftest import ALICE, BOB, TgService


def test_profile_and_capital_change_while_trading(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "3000")
            engine = svc.session.engine
            acct = engine.accounts["tg-101"]
            await svc.trade(1500)
            assert acct.ledger.positions, "the replay should leave positions open"
            brackets = {s: (p.stop_loss, p.take_profit) for s, p in acct.ledger.positions.items()}

            reply = (await svc.send(ALICE, "/risk aggressive"))[0]
            assert "Profile set" in reply and "risks 2% of equity" in reply
            assert acct.spec.profile == "aggressive" and acct.profile.name == "aggressive"
            assert engine.breakers["tg-101"].profile.max_drawdown == Decimal("0.20")
            subs = [s for subs in engine._subs.values() for s in subs if s.account is acct]
            assert subs and all(s.constraints.max_stop == Decimal("0.08") for s in subs)
            kept = {s: (p.stop_loss, p.take_profit) for s, p in acct.ledger.positions.items()}
            assert kept == brackets

            book = engine.venue.core.accounts["tg-101"]
            cash, equity = acct.ledger.cash, engine.equity("tg-101")
            pnl = equity - acct.spec.capital
            venue_cash = book.totals["USDT"]
            day_start = acct.breakers.day_start_equity
            reply = (await svc.send(ALICE, "/invest 4000"))[0]
            assert "Capital set to 4,000.00 USDT (1,000.00 USDT added)" in reply, reply
            assert acct.ledger.cash == cash + 1000 and book.totals["USDT"] == venue_cash + 1000
            assert engine.equity("tg-101") == equity + 1000
            assert engine.equity("tg-101") - acct.spec.capital == pnl, "a deposit is no profit"
            # Time-weighted: the day's start moves by the deposit's share of the equity.
            assert acct.breakers.day_start_equity == day_start * ((equity + 1000) / equity)
            assert acct.ledger.pnl_equity(engine.marks) == engine.equity("tg-101")

            # Taking out more than the free cash is refused, with the figure, and nothing moves.
            free = acct.ledger.cash
            too_low = acct.spec.capital - free - 50
            refused = (await svc.send(ALICE, f"/invest {too_low}"))[0]
            assert "You can take out at most" in refused and "nothing was changed" in refused
            assert acct.spec.capital == 4000 and acct.ledger.cash == free

            await svc.send(ALICE, "/pause")
            await svc.send(ALICE, "/close all")
            await svc.press(ALICE, "Confirm")
            await svc.trade(3)
            assert not acct.ledger.positions
            cash = acct.ledger.cash
            ask = (await svc.send(ALICE, "/invest 500"))[0]
            assert "That takes 3,500.00 USDT out of your 4,000.00 USDT capital (88%)" in ask
            assert acct.spec.capital == 4000 and acct.ledger.cash == cash, "not before Confirm"
            reply = (await svc.press(ALICE, "Confirm"))[0]
            assert "3,500.00 USDT taken out" in reply, reply
            assert acct.ledger.cash == cash - 3500 and acct.spec.capital == 500
            assert acct.state.value == "active", "a withdrawal trips no breaker"
            await svc.trade(5)
            assert acct.state.value == "active" and acct.ledger.cash == cash - 3500
            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None and inv.capital == 500 and inv.profile == "aggressive"
            text = (await svc.send(ALICE, "/portfolio"))[0]
            assert f"cash {acct.ledger.cash:,.2f} USDT" in text

    asyncio.run(scenario())


def test_the_rollout_stage_bounds_refuse_up_front(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            engine = svc.session.engine
            engine.stage = Stage(
                name="internal",
                min_capital=Decimal(100),
                max_capital=Decimal(500),
                profiles=frozenset({"conservative"}),
            )
            await svc.onboard(ALICE, "conservative", "300")
            acct = engine.accounts["tg-101"]
            refused = (await svc.send(ALICE, "/invest 600"))[0]
            assert "'internal' rollout stage allows between 100 and 500.00 USDT" in refused
            assert acct.spec.capital == 300 and acct.ledger.cash == 300
            refused = (await svc.send(ALICE, "/risk aggressive"))[0]
            assert "allows only the conservative profile" in refused
            assert acct.spec.profile == "conservative"
            assert "Capital set to 450.00 USDT" in (await svc.send(ALICE, "/invest 450"))[0]

            # A stage that shrinks to 300 makes the account close-only, with the way back in.
            smaller = Stage(
                name="internal",
                min_capital=Decimal(100),
                max_capital=Decimal(300),
                profiles=frozenset({"conservative"}),
            )
            [moved] = await bring_inside(engine, smaller)
            assert moved.change == "reducing" and "/invest 300 or less" in moved.message
            assert acct.state.value == "reducing"
            # Lowering the capital inside the stage lets it trade again at once.
            assert "Take it out?" in (await svc.send(ALICE, "/invest 250"))[0]
            assert "Capital set to 250.00 USDT" in (await svc.press(ALICE, "Confirm"))[0]
            assert acct.state.value == "active"

            await svc.send(BOB, "/start")
            await svc.press(BOB, "I accept")
            await svc.send(BOB, "/connect paper")
            assert "allows only" in (await svc.send(BOB, "/risk moderate"))[0]
            assert "rollout stage" in (await svc.send(BOB, "/invest 1000"))[0]
            assert "only the conservative" in (await svc.send(BOB, "/invest 200"))[0]
            assert "tg-102" not in engine.accounts

    asyncio.run(scenario())


def test_a_deposit_is_not_pnl_today_even_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "3000")
            await svc.trade(2900)  # two symbols a minute: midnight passes, today has an opening
            await svc.session.checkpoint_off_loop()  # the equity snapshots reach the store
            views = InvestorViews(svc.session)
            day = svc.session.clock.now_ms() // DAY_MS * DAY_MS
            before = await views.portfolio("tg-101")
            assert views._opening("tg-101", day) is not None

            await svc.send(ALICE, "/invest 4000")
            after = await views.portfolio("tg-101")
            assert after.equity == before.equity + 1000
            assert after.pnl_today == before.pnl_today, "a deposit is not profit"

            # A process that starts now reads the deposit back from the store.
            await svc.session.checkpoint_off_loop()
            fresh = await InvestorViews(svc.session).portfolio("tg-101")
            assert fresh.pnl_today == before.pnl_today
            text = (await svc.send(ALICE, "/portfolio"))[0]
            assert f"PnL today {signed(before.pnl_today, 'USDT')}" in text

    asyncio.run(scenario())
