"""No false "nothing was changed": a command that acts before it fails (here
/pause, whose pause went through) is apologised for without claiming nothing changed, and so
is a reply Telegram refused (the command behind it may have acted)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rampart.telegram.text import ACTING, REPLY_REFUSED, SORRY, SORRY_AFTER
from tests.telegram.conftest import ALICE, TgService

NOTHING = "nothing was changed"


def test_pause_that_fails_after_pausing_never_says_nothing_was_changed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.register([ALICE])
            real = svc.bot.operator.pause_account

            async def pause_then_fail(*args: Any, **kwargs: Any) -> Any:
                await real(*args, **kwargs)
                raise RuntimeError("the store went away after the pause")

            svc.bot.operator.pause_account = pause_then_fail  # type: ignore[method-assign]
            (answer,) = await svc.send(ALICE, "/pause")
            assert svc.session.engine.accounts[f"tg-{ALICE}"].paused
            assert answer == SORRY_AFTER and NOTHING not in answer.lower()
            # A command that only reads may still say it (it is true there).
            assert "portfolio" not in ACTING and NOTHING in SORRY

    asyncio.run(scenario())


def test_a_refused_reply_is_said_without_claiming_nothing_changed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.register([ALICE])
            refusal = {"ok": False, "error_code": 400, "description": "Bad Request: chat busy"}
            svc.api.script({"method": "sendMessage", "status": 400, "response": refusal})
            told = await svc.send(ALICE, "/pause")
            assert svc.session.engine.accounts[f"tg-{ALICE}"].paused
            assert told == [REPLY_REFUSED] and NOTHING not in REPLY_REFUSED.lower()

    asyncio.run(scenario())
