"""A command fetched but not yet handled survives a kill -9: the updater's
next ``getUpdates`` confirms the batch to Telegram, so a command still in the application's
queue at a crash was never seen again. The queue now writes each command to ``bot_inbox`` as it
is fetched, before that confirmation, and the next start answers it once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telegram import Update

from rampart.telegram.durable import PROPOSAL_GONE, KeepingQueue
from tests.telegram.conftest import SYMBOLS, TgService

UID = 31_000


def test_a_command_fetched_before_a_crash_is_answered_once_after_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.register([UID])
            bot = svc.bot
            assert isinstance(bot.app.update_queue, KeepingQueue)
            svc.stop.set()
            await asyncio.wait_for(svc.task, timeout=30)
            before = len(svc.api.texts(UID))
            # What the updater does with a fetched batch; then the process dies (nothing is
            # handled: the application is stopped) and Telegram never gives it again.
            update_id = 990_001
            body = {
                "update_id": update_id,
                "message": {
                    "message_id": 77,
                    "date": 1_700_000_000,
                    "chat": {"id": UID, "type": "private"},
                    "from": {"id": UID, "is_bot": False, "first_name": "Ann"},
                    "text": "/balance",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
                },
            }
            await bot.app.update_queue.put(Update.de_json(body, bot.app.bot))
            assert len(svc.api.texts(UID)) == before  # nothing answered before the "crash"
            await svc.start_bot(SYMBOLS)
            await svc.until(lambda: len(svc.api.texts(UID)) > before, 30)
            await svc.until_quiet()  # nothing left that could still send a second answer
            answers = svc.api.texts(UID)[before:]
            assert len(answers) == 1, answers
            assert "balance" in answers[0].lower() or "USDT" in answers[0], answers

    asyncio.run(scenario())


def test_a_confirm_tapped_as_the_bot_died_is_answered_with_where_to_look(tmp_path: Path) -> None:
    """Button taps were not kept: a Confirm tapped as the bot restarted was never answered.
    Now the tap is kept like a command; its proposal lived in the dead process only, so the
    answer says where to look, and says it once."""

    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.register([UID])
            bot = svc.bot
            svc.stop.set()
            await asyncio.wait_for(svc.task, timeout=30)
            before = len(svc.api.texts(UID))
            chat = {"id": UID, "type": "private"}
            body = {
                "update_id": 990_002,
                "callback_query": {
                    "id": "cq-restart",
                    "from": {"id": UID, "is_bot": False, "first_name": "Ann"},
                    "chat_instance": "ci",
                    "data": "demo:yes:tok123",
                    "message": {"message_id": 5, "date": 1_700_000_000, "chat": chat},
                },
            }
            await bot.app.update_queue.put(Update.de_json(body, bot.app.bot))
            await svc.start_bot(SYMBOLS)
            await svc.until(lambda: len(svc.api.texts(UID)) > before, 30)
            await svc.until_quiet()
            assert svc.api.texts(UID)[before:] == [PROPOSAL_GONE]

    asyncio.run(scenario())
