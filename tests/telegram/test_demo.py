"""/demo: a paper account with the fixed virtual balance, the three prices explained, a proposed
trade with Confirm and Cancel, the trade placed through the risk engine, then the portfolio with
its stop and target."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rampart.domain.orders import OrderRole
from rampart.domain.stages import Stage
from rampart.operator import investors as inv_store
from tests.telegram.conftest import ALICE, BOB, TgService


async def _registered(svc: TgService, uid: int) -> None:
    await svc.send(uid, "/start")
    await svc.press(uid, "I accept")


def test_demo_guides_a_first_trade(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await _registered(svc, ALICE)
            guide = await svc.send(ALICE, "/demo")
            assert len(guide) == 2
            assert "Demo account ready" in guide[0] and "10,000.00 USDT" in guide[0]
            assert "Step 1 of 3" in guide[0] and "entry" in guide[0]
            assert "Step 2 of 3" in guide[0] and "stop-loss" in guide[0]
            assert "Step 3 of 3" in guide[0] and "take-profit" in guide[0]
            assert "Your first trade" in guide[1] and "BTC/USDT" in guide[1]
            acct = svc.session.engine.accounts["tg-101"]
            assert acct.spec.capital == Decimal(10000) and acct.ledger.cash == Decimal(10000)
            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None and inv.mode == "demo"

            assert "nothing was placed" in (await svc.press(ALICE, "Cancel"))[0]
            assert not any(o.strategy == "vibe" for o in acct.orders.values())
            assert "BTC/USDT" not in acct.ledger.positions

            # /demo again on the demo account offers the trade again (no second account).
            again = await svc.send(ALICE, "/demo")
            assert "Demo account ready" not in again[0] and "Your first trade" in again[-1]
            done = await svc.press(ALICE, "Confirm")
            assert "Order placed" in done[0], done
            assert "buys at the next opening price" in done[-1]
            await svc.trade(2)  # the next candle of each symbol: bought at its open
            position = acct.ledger.positions["BTC/USDT"]
            assert position.strategy == "vibe"
            assert position.take_profit > position.avg_price > position.stop_loss > 0
            portfolio = (await svc.send(ALICE, "/portfolio"))[0]
            assert "BTC/USDT" in portfolio and "stop-loss" in portfolio and "target" in portfolio
            assert f"{position.stop_loss:,}".rstrip("0").rstrip(".") in portfolio
            assert "whole flow" in done[-1]
            entries = [o for o in acct.recent_orders if o.role is OrderRole.ENTRY]
            assert entries or any(o.role is OrderRole.ENTRY for o in acct.orders.values())

    asyncio.run(scenario())


def test_demo_stays_inside_the_stage_and_never_replaces_a_real_account(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            svc.session.engine.stage = Stage(
                name="internal", max_capital=Decimal(500), profiles=frozenset({"conservative"})
            )
            await _registered(svc, ALICE)
            guide = await svc.send(ALICE, "/demo")
            assert "500.00 USDT" in guide[0] and "conservative" in guide[0]
            assert "Order placed" in (await svc.press(ALICE, "Confirm"))[0]

            svc.session.engine.stage = Stage()
            await svc.onboard(BOB, "moderate", "300")
            refused = await svc.send(BOB, "/demo")
            assert refused == ["You already have an account trading; see /portfolio."]
            assert svc.session.engine.accounts["tg-102"].spec.capital == 300

    asyncio.run(scenario())


def test_demo_takes_at_most_three_messages(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await _registered(svc, ALICE)
            mark = len(svc.api.calls)
            guide = await svc.send(ALICE, "/demo")
            joined = "\n".join(guide)
            for step in ("entry", "stop-loss", "take-profit", "Your first trade", "10,000.00"):
                assert step in joined, step
            done = await svc.press(ALICE, "Confirm")
            assert any("Order placed" in t for t in done), done
            sent = [
                p
                for meth, p in svc.api.calls[mark:]
                if meth == "sendMessage" and p.get("chat_id") == ALICE
            ]
            # Everything from the greeting to the portfolio with the position's stop and target.
            assert len(sent) <= 3, [p["text"][:40] for p in sent]
            shown = "\n".join(p["text"] for p in sent)
            assert "<b>Portfolio</b>" in shown and "BTC/USDT" in shown and "whole flow" in shown
            assert svc.api.refusals() == []

    asyncio.run(scenario())
