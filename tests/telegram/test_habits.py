"""What a Freqtrade user types, answered: ``/status`` is the investor's own
open positions (not "for operators only"), ``/performance`` is realised PnL per symbol and
``/count`` the open positions against the profile's maximum; and the operator's
``/resume_user``, a call on the operator facade as the API's resume is."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from rampart.domain.events import TradeClosed
from rampart.store.models import audit as ma
from rampart.telegram.text import price, qty, signed
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TgService

ACCOUNT = f"tg-{ALICE}"


async def _trades_closed(svc: TgService, account: str, n: int, limit: int = 6000) -> None:
    """Candles (no checkpoint) until ``account`` has closed ``n`` trades and holds a position."""
    for candle in itertools.islice(svc.candles, limit):
        svc.clock.set(candle.close_ts)
        async with svc.lock:
            await svc.session.process(candle)
        closed = [
            e for e in svc.events if isinstance(e, TradeClosed) and e.trade.account_id == account
        ]
        if len(closed) >= n and svc.session.engine.accounts[account].ledger.positions:
            return
    raise AssertionError(f"{account} did not get there in {limit} candles")


def test_status_is_the_investors_own_positions(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.onboard(BOB, "moderate", "300")
            quiet = (await svc.send(BOB, "/status"))[0]
            assert "operators only" not in quiet and "No open positions" in quiet
            await _trades_closed(svc, ACCOUNT, 1)
            status = (await svc.send(ALICE, "/status"))[0]
            assert "operators only" not in status
            positions = svc.operator.views.positions(ACCOUNT)
            assert positions
            for pos in positions:
                assert f"<b>{pos.symbol}</b> {qty(pos.qty)} @ {price(pos.avg_price)}" in status
                assert f"stop-loss {price(pos.stop_loss)}" in status
                assert signed(pos.unrealized_pnl, "USDT") in status
            assert "tg-102" not in status
            # The operator's /status is still the service's.
            assert (await svc.send(OPERATOR, "/status"))[0].startswith("<b>Status</b>")

    asyncio.run(scenario())


def test_performance_per_symbol_and_count(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            empty = (await svc.send(ALICE, "/performance"))[0]
            assert "No trades closed yet" in empty
            await _trades_closed(svc, ACCOUNT, 3)
            trades = await svc.operator.views.trades(ACCOUNT, limit=500)
            per: dict[str, list[Decimal]] = defaultdict(list)
            for t in trades:
                per[t.symbol].append(t.pnl)
            answer = (await svc.send(ALICE, "/performance"))[0]
            assert answer.startswith("<b>Performance</b>")
            for symbol, pnls in per.items():
                total = sum(pnls, Decimal(0))
                assert f"<b>{symbol}</b> {signed(total, 'USDT')} ({len(pnls)} trade" in answer
            # Best first.
            order = sorted(per, key=lambda s: sum(per[s], Decimal(0)), reverse=True)
            found = [answer.index(f"<b>{s}</b>") for s in order]
            assert found == sorted(found)

            acct = svc.session.engine.accounts[ACCOUNT]
            count = (await svc.send(ALICE, "/count"))[0]
            held = len(acct.ledger.positions)
            assert f"{held} of {acct.profile.max_open}" in count
            assert "aggressive" in count

    asyncio.run(scenario())


def test_resume_user_is_the_operator_facades_resume(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE)
            calls: list[tuple[Any, ...]] = []
            facade = svc.operator.resume_account

            async def spy(*args: Any, **kw: Any) -> Any:
                calls.append((args, kw))
                return await facade(*args, **kw)

            svc.operator.resume_account = spy  # type: ignore[method-assign]
            acct = svc.session.engine.accounts[ACCOUNT]
            await svc.send(OPERATOR, f"/pause_user {ACCOUNT} checking the key")
            assert acct.paused
            refused = (await svc.send(ALICE, "/resume"))[0]
            assert "Only the operator" in refused and acct.paused
            calls.clear()
            answer = (await svc.send(OPERATOR, f"/resume_user {ACCOUNT} key checked"))[0]
            assert not acct.paused and "resumed" in answer
            ((args, kw),) = calls
            assert args[:3] == (ACCOUNT, f"telegram-operator:{OPERATOR}", "key checked")
            assert not kw.get("owner")
            # Audited by the facade, as the API's resume is.
            with svc.session.db.connect() as conn:
                actions = conn.execute(sa.select(ma.audit_log.c.action)).scalars().all()
            assert "operator.resume" in actions
            # An investor cannot use it; a numeric Telegram id names that investor's account.
            assert "operators only" in (await svc.send(ALICE, "/resume_user tg-101"))[0]
            await svc.send(OPERATOR, f"/pause_user {ALICE}")
            assert "resumed" in (await svc.send(OPERATOR, f"/resume_user {ALICE}"))[0]
            assert not acct.paused
            nothing = (await svc.send(OPERATOR, f"/resume_user {ACCOUNT}"))[0]
            assert "not paused" in nothing
            assert "Say whose account" in (await svc.send(OPERATOR, "/resume_user"))[0]

    asyncio.run(scenario())
