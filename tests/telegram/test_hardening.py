"""The bot as trustworthy as the engine: each test drives python-telegram-bot against
the Bot API stand-in, which refuses what Telegram refuses, and failed before its fix.

- a double-tapped Confirm acts once and every tap shows the real outcome;
- in a group, account commands only point to the private chat, and nobody's tap acts on or
  ruins another member's proposal;
- an edited command is not run again;
- a stale or forged button gets a clear answer, never "something went wrong";
- the over-limit flood is answered once per window (defect 11, the rate limiter).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from telegram.ext import CommandHandler

from rampart.domain.orders import OrderRole
from rampart.telegram.chats import EDITED, EXPIRED, NOT_YOURS
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TgService

GROUP = -100_500
FAILED = "Something went wrong"
POINTER = "Send me this in a private chat: t.me/rampart_test_bot"


async def _tap(svc: TgService, uid: int, data: str, message_id: int, **where: Any) -> int:
    """Push a tap and wait until the bot handled it; returns the tap's update id."""
    tap = svc.api.push_button(uid, data, message_id, **where)
    await svc.until(lambda: svc.bot.processed >= tap)
    return tap


async def _say(svc: TgService, uid: int, text: str, chat: int) -> None:
    update = svc.api.push_text(uid, text, chat=chat)
    await svc.until(lambda: svc.bot.processed >= update)


def _registered(svc: TgService) -> list[str]:
    names: set[str] = set()
    for handlers in svc.bot.app.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                names |= handler.commands
    return sorted(names)


def _vibe_entries(svc: TgService, account_id: str) -> list[Any]:
    acct = svc.session.engine.accounts[account_id]
    orders = list(acct.orders.values()) + list(acct.recent_orders)
    seen = {o.client_id: o for o in orders if o.strategy == "vibe" and o.role is OrderRole.ENTRY}
    return list(seen.values())


def test_a_double_tapped_confirm_acts_once_and_every_tap_shows_the_outcome(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            await svc.send(ALICE, "/vibe long BTC, tight stop, 2% target")
            data, message_id = svc.api.button(ALICE, "Confirm")
            # Two taps queued before the bot reads either: 150 ms apart on a phone.
            first = svc.api.push_button(ALICE, data, message_id)
            second = svc.api.push_button(ALICE, data, message_id)
            await svc.until(lambda: svc.bot.processed >= second)
            shown, _ = svc.api.messages[(ALICE, message_id)]
            assert shown.startswith(("Order placed", "Not placed")), shown
            assert len(_vibe_entries(svc, "tg-101")) == (1 if "Order placed" in shown else 0)
            assert svc.api.answer(first) == ""  # the first tap acted; its message says how
            assert svc.api.answer(second) == shown  # the second is told the same, as text
            # A third tap much later still shows the outcome, and places nothing more.
            await svc.trade(5)
            third = await _tap(svc, ALICE, data, message_id)
            assert svc.api.answer(third) == shown
            assert svc.api.messages[(ALICE, message_id)][0] == shown
            assert len(_vibe_entries(svc, "tg-101")) == (1 if "Order placed" in shown else 0)
            assert not any(FAILED in t for t in svc.api.texts(ALICE))
            assert not svc.api.refusals("answerCallbackQuery")

    asyncio.run(scenario())


def test_account_commands_in_a_group_only_point_to_the_private_chat(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "aggressive", "5000")
            capital = (await svc.bot.operator.views.portfolio("tg-101")).capital
            # Every command the bot knows, some with arguments; from an investor, operator
            # commands too (only operators run those, and only theirs answer in a group).
            said = [f"/{name}" for name in _registered(svc)] + [
                "/vibe long BTC, tight stop, 2% target",
                "/invest 20000",
                "/close all",
                "/portfolio@rampart_test_bot",
            ]
            assert {"/portfolio", "/vibe", "/invest", "/close", "/trades", "/kill"} <= set(said)
            for text in said:
                await _say(svc, ALICE, text, GROUP)
            assert svc.api.texts(GROUP) == [POINTER] * len(said)
            assert (await svc.bot.operator.views.portfolio("tg-101")).capital == capital
            assert not svc.session.engine.accounts["tg-101"].paused
            # Text and unknown commands in a group are left to the group.
            for text in ("hello all", "/weather", "/portfolio@rampart_test_bot"):
                await _say(svc, BOB, text, GROUP)
            assert svc.api.texts(GROUP) == [POINTER] * (len(said) + 1)
            # The operator chat may be a group: the operator's own commands answer there.
            await _say(svc, OPERATOR, "/status", GROUP)
            assert "tg-101" in svc.api.texts(GROUP)[-1] or "Kill switch" in svc.api.texts(GROUP)[-1]

            # A proposal seen in a group (an old copy, a forwarded one): another member's tap
            # neither acts on it nor ruins it.
            await svc.send(ALICE, "/vibe long BTC, tight stop, 2% target")
            data, message_id = svc.api.button(ALICE, "Confirm")
            before = svc.api.messages[(ALICE, message_id)]
            tap = await _tap(svc, BOB, data, message_id, chat=GROUP)
            assert svc.api.answer(tap) == NOT_YOURS
            assert svc.api.messages[(ALICE, message_id)] == before
            assert _vibe_entries(svc, "tg-101") == []
            placed = (await svc.press(ALICE, "Confirm"))[0]
            assert placed.startswith(("Order placed", "Not placed")), placed
            # And after it acted, another member's tap is still not theirs to see.
            late = await _tap(svc, BOB, data, message_id, chat=GROUP)
            assert svc.api.answer(late) == NOT_YOURS

    asyncio.run(scenario())


def test_an_edited_command_is_not_run_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "12000")
            capital = (await svc.bot.operator.views.portfolio("tg-101")).capital
            before = len(svc.api.texts(ALICE))
            update = svc.api.push_edit(ALICE, "/invest 20000")
            await svc.until(lambda: svc.bot.processed >= update)
            assert (await svc.bot.operator.views.portfolio("tg-101")).capital == capital
            assert svc.api.texts(ALICE)[before:] == [EDITED]
            # An edit in a group says nothing at all.
            update = svc.api.push_edit(ALICE, "/invest 20000", chat=GROUP)
            await svc.until(lambda: svc.bot.processed >= update)
            assert svc.api.texts(GROUP) == []
            assert (await svc.bot.operator.views.portfolio("tg-101")).capital == capital

    asyncio.run(scenario())


def test_stale_and_forged_buttons_get_a_clear_answer(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            # A double tap on "I accept": the message already says so; no error.
            await svc.press(ALICE, "I accept")
            await svc.send(ALICE, "/connect paper")
            await svc.send(ALICE, "/invest 5000")
            await svc.send(ALICE, "/vibe long BTC, tight stop, 2% target")
            data, message_id = svc.api.button(ALICE, "Cancel")
            canceled = (await svc.press(ALICE, "Cancel"))[0]
            assert canceled == "Canceled; nothing was placed."
            # Its Confirm, tapped after the cancel: the outcome, nothing placed.
            confirm, _ = svc.api.button(ALICE, "Confirm")
            stale = await _tap(svc, ALICE, confirm, message_id)
            assert svc.api.answer(stale) == canceled
            # Forged or long-gone tokens, twice on the same message.
            for forged in ("vibe:yes:deadbeef0000", "vibe:yes:deadbeef0000", "close:yes:", "x"):
                tap = await _tap(svc, ALICE, forged, message_id)
                assert svc.api.answer(tap) == EXPIRED
            assert svc.api.messages[(ALICE, message_id)][0] == canceled
            assert _vibe_entries(svc, "tg-101") == []
            assert not any(FAILED in t for t in svc.api.texts(ALICE))

    asyncio.run(scenario())


def test_a_flood_over_the_rate_limit_is_answered_once_per_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path, rate=3) as svc:
            last = 0
            for _ in range(35):
                last = svc.api.push_text(BOB, "/help")
            await svc.until(lambda: svc.bot.processed >= last)
            texts = svc.api.texts(BOB)
            assert [t.startswith("<b>Commands</b>") for t in texts] == [True] * 3 + [False]
            assert texts[-1].startswith("You are sending commands too fast")
            # A minute later (a person's pace is wall time): answered again.
            svc.ops.advance(61_000)
            assert (await svc.send(BOB, "/help"))[0].startswith("<b>Commands</b>")

    asyncio.run(scenario())
