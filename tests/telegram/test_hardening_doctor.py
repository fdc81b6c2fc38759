"""``rampart doctor`` asks Telegram (``getChat``) whether alerts can reach the operator chat:
a chat that never wrote to the bot is a FAIL saying to send /start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.config import load_settings
from rampart.wiring.doctor import check_operator_chat, run_checks
from rampart_testkit.botapi.standin import FakeBotApi
from tests.telegram.conftest import OPERATOR, TOKEN


def test_doctor_fails_until_the_operator_wrote_to_the_bot(tmp_path: Path) -> None:
    async def scenario() -> list[tuple[str, str]]:
        api = await FakeBotApi().start()
        try:
            settings = load_settings(
                store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
                telegram_token=TOKEN,
                telegram={
                    "operator_ids": [OPERATOR],
                    "operator_chat_id": OPERATOR,
                    "api_url": api.url,
                },
            )
            seen = []
            # The doctor is synchronous (a CLI command): it runs beside the stand-in's loop.
            for wrote in (False, True):
                if wrote:
                    api.push_text(OPERATOR, "/start")
                checks = await asyncio.to_thread(run_checks, settings, 0)
                found = [c for c in checks if c.name == "Telegram operator chat"]
                assert len(found) == 1
                seen.append((found[0].status, found[0].message))
            bad = settings.model_copy(update={"telegram_token": None})
            assert check_operator_chat(bad) is None  # no bot: "Telegram operators" says so
            return seen
        finally:
            await api.close()

    (before, message), (after, fixed) = asyncio.run(scenario())
    assert before == "FAIL", message
    assert "chat not found" in message and "send /start" in message and "900" in message
    assert TOKEN not in message
    assert after == "OK" and "900" in fixed, fixed


def test_doctor_warns_when_telegram_cannot_be_asked(tmp_path: Path) -> None:
    settings = load_settings(
        store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
        telegram_token=TOKEN,
        telegram={"operator_chat_id": OPERATOR, "api_url": "http://127.0.0.1:9"},
    )
    check = check_operator_chat(settings)
    assert check is not None and check.status == "WARN", check
    assert TOKEN not in check.message and "ConnectError" in check.message
