"""A halted investor reads why in the bot (/portfolio) and in the breaker's notice, in the very
sentence the API gives (one source): the breaker, what it measured, its limit, and whether it
resumes by itself or needs the operator."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from html import escape
from pathlib import Path

from rampart.api.schemas import PortfolioOut
from tests.telegram.conftest import ALICE
from tests.telegram.notices_support import NoticeService

ACCOUNT = "tg-101"


def test_portfolio_and_the_notice_say_why_the_account_is_halted(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "1000")  # drawdown limit 10 %
            await svc.trade(5)
            engine = svc.session.engine
            acct = engine.accounts[ACCOUNT]
            async with svc.lock:
                now = engine.clock.now_ms()
                equity = acct.breakers.peak_equity * Decimal("0.85")
                trips = engine.breakers[ACCOUNT].on_equity(acct.breakers, equity, now)
                await engine.apply_trips(acct, trips, now)
            told = await svc.delivered(ALICE, "<b>Max drawdown breaker</b>", n=1)
            await svc.drain()
            replies = await svc.send(ALICE, "/portfolio")
            text = next(t for t in replies if t.startswith("<b>Portfolio</b>"))
            for shown in (text, *told):
                lowered = shown.lower()
                assert "max drawdown" in lowered and "limit 10 %" in lowered, shown
                assert "needs the operator" in lowered, shown

            portfolio = await svc.operator.views.portfolio(ACCOUNT)
            why = PortfolioOut.model_validate(portfolio).model_dump(mode="json")["why"]
            assert escape(why, quote=False) in text, text
            assert any(escape(why, quote=False) in t for t in told), told

    asyncio.run(scenario())
