"""An investor's whole journey, /vibe, isolation between investors, and bad input."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from rampart.domain.events import OrderUpdated
from rampart.domain.orders import OrderRole
from rampart.operator import investors as inv_store
from rampart.telegram.bot import MAX_USERS
from tests.telegram.conftest import ALICE, BOB, TgService


def _entries(svc: TgService, account_id: str, since: int) -> int:
    """Entry orders the account sent after event number ``since``."""
    return len(
        {
            e.order.client_id
            for e in svc.events[since:]
            if type(e) is OrderUpdated
            and e.order.account_id == account_id
            and e.order.role is OrderRole.ENTRY
        }
    )


def test_investor_journey(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            start = await svc.send(ALICE, "/start")
            assert "lose money" in start[0]
            assert "Disclaimer accepted" in (await svc.press(ALICE, "I accept"))[0]
            assert "Paper account connected" in (await svc.send(ALICE, "/connect paper"))[0]
            assert "risks 1% of equity" in (await svc.send(ALICE, "/risk moderate"))[0]
            assert "300.00 USDT" in (await svc.send(ALICE, "/invest 300"))[0]
            acct = svc.session.engine.accounts["tg-101"]
            assert acct.spec.capital == Decimal(300) and acct.spec.profile == "moderate"
            await svc.trade(1500)
            assert acct.ledger.positions, "the replay should leave positions open"
            text = (await svc.send(ALICE, "/portfolio"))[0]
            assert "Equity" in text and "USDT" in text and "PnL today" in text
            for symbol in acct.ledger.positions:
                assert symbol in text
            assert "stop-loss" in text and "target" in text
            why = (await svc.send(ALICE, "/why"))[0]
            assert "refused" in why and acct.rejections[-1].message.split(":")[0] in why
            assert "Paused" in (await svc.send(ALICE, "/pause"))[0]
            assert acct.paused
            mark = len(svc.events)
            await svc.trade(600)
            assert _entries(svc, "tg-101", mark) == 0
            assert "Resumed" in (await svc.send(ALICE, "/resume"))[0]
            assert not acct.paused
            trades = (await svc.send(ALICE, "/trades"))[0]
            assert "USDT" in trades or "No closed trades" in trades

    asyncio.run(scenario())


def test_vibe_confirm_places_and_cancel_does_not(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            acct = svc.session.engine.accounts["tg-101"]
            nothing = (await svc.send(ALICE, "/vibe feeling lucky today"))[0]
            assert "Name a coin" in nothing
            proposal = (await svc.send(ALICE, "/vibe long BTC, tight stop, 2% target"))[0]
            assert "BTC/USDT" in proposal and "reward:risk 2.00" in proposal
            assert "Stop-loss" in proposal and "target" in proposal
            before = {o.client_id for o in acct.orders.values()}
            assert "nothing was placed" in (await svc.press(ALICE, "Cancel"))[0]
            assert {o.client_id for o in acct.orders.values()} == before
            assert not any(o.strategy == "vibe" for o in acct.orders.values())
            await svc.send(ALICE, "/vibe long BTC, tight stop, 2% target")
            # Bob cannot confirm Alice's proposal, even with its exact button data.
            data, message_id = svc.api.button(ALICE, "Confirm")
            tap = svc.api.push_button(BOB, data, message_id)
            target = len(svc.api.updates)
            await svc.until(lambda: svc.bot.processed >= target)
            assert svc.api.answer(tap) == "This is not your proposal; nothing was changed."
            placed = (await svc.press(ALICE, "Confirm"))[0]
            assert "Order placed" in placed, placed
            await svc.trade(2)  # the next candle of each symbol: bought at its open
            vibe = [o for o in acct.orders.values() if o.strategy == "vibe"]
            vibe += [o for o in acct.recent_orders if o.strategy == "vibe"]
            assert any(o.symbol == "BTC/USDT" and o.role is OrderRole.ENTRY for o in vibe)
            position = acct.ledger.positions["BTC/USDT"]
            assert position.strategy == "vibe" and position.stop_loss > 0
            assert position.take_profit > position.avg_price > position.stop_loss

    asyncio.run(scenario())


def test_two_investors_see_only_their_own(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "300")
            await svc.onboard(BOB, "conservative", "700")
            await svc.trade(300)
            await svc.send(BOB, "/pause")
            alice = (await svc.send(ALICE, "/portfolio"))[0]
            bob = (await svc.send(BOB, "/portfolio"))[0]
            assert "(active)" in alice and "(paused)" in bob
            engine = svc.session.engine
            assert not engine.accounts["tg-101"].paused and engine.accounts["tg-102"].paused
            for text in svc.api.texts(ALICE):
                assert "tg-102" not in text and "700" not in text
            for text in svc.api.texts(BOB):
                assert "tg-101" not in text

    asyncio.run(scenario())


def test_bad_input_gets_a_sentence_and_changes_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            assert "/start" in (await svc.send(ALICE, "/portfolio"))[0]
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            await svc.send(ALICE, "/connect paper")
            replies = {
                "/invest abc": "not an amount",
                "/invest -5": "not an amount written plainly",
                "/invest 1e3": "not an amount written plainly",
                "/invest 0": "must be positive",
                "/invest 2,000,000,000": "more than Rampart accepts",
                "/invest": "Usage: /invest AMOUNT",
                "/risk yolo": "no 'yolo' profile",
                "/mode moon": "Choose /mode paper",
                "/close BTC": "no account trading",
                "/connect kraken": "not 'kraken'",
            }
            for command, expected in replies.items():
                got = await svc.send(ALICE, command)
                assert len(got) == 1 and expected in got[0], (command, got)
                assert "Traceback" not in got[0]
            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None and inv.capital == 0 and inv.profile == "moderate"
            assert "tg-101" not in svc.session.engine.accounts
            assert "I don't know /yolo" in (await svc.send(ALICE, "/yolo"))[0]

    asyncio.run(scenario())


def test_commands_are_rate_limited_per_user(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, rate=3) as svc:
            for _ in range(3):
                assert "too fast" not in (await svc.send(ALICE, "/help"))[0]
            assert "too fast" in (await svc.send(ALICE, "/help"))[0]
            assert "too fast" not in (await svc.send(BOB, "/help"))[0]
            svc.ops.advance(61_000)
            assert "too fast" not in (await svc.send(ALICE, "/help"))[0]

    asyncio.run(scenario())


def test_the_rate_limit_remembers_a_bounded_number_of_users(tmp_path: Path) -> None:
    """Many distinct senders grow the limiter's memory to at most ``MAX_USERS`` keys, the
    least recently seen forgotten first."""

    async def scenario() -> None:
        async with TgService(tmp_path, rate=3) as svc:
            limiter = svc.bot.limiter
            assert limiter.max_keys == MAX_USERS
            ran: list[int] = []

            async def work(uid: int) -> None:
                ran.append(uid)

            for uid in range(1, MAX_USERS + 501):
                update = SimpleNamespace(update_id=uid, effective_user=SimpleNamespace(id=uid))
                await svc.bot.guard("help", update, lambda uid=uid: work(uid))  # type: ignore[arg-type]
            assert len(ran) == MAX_USERS + 500
            assert len(limiter) == MAX_USERS
            # The newest sender is remembered (one command spent), the first was forgotten
            # (a fresh, full budget).
            assert limiter.bucket(MAX_USERS + 500).level == 2
            assert limiter.bucket(1).level == 3
            assert len(limiter) == MAX_USERS

    asyncio.run(scenario())
