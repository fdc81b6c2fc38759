"""Webhook mode: the bot registers its webhook with the secret token, Telegram's posts (with
the secret) drive the same handlers as polling, and a post without the right secret is refused
and changes nothing."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from rampart.config import TelegramConfig
from rampart.domain.errors import ConfigError
from rampart.telegram.webhook import SECRET_HEADER, webhook_settings
from tests.telegram.conftest import ALICE, BOB, TgService

SECRET = "wh_9f3Kq2LmZx7Tn4Pv8Rb1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _update(uid: int, text: str, update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 5000 + update_id,
            "date": 1_700_000_000,
            "chat": {"id": uid, "type": "private"},
            "from": {"id": uid, "is_bot": False, "first_name": "x"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


def test_webhook_mode_answers_posts_with_the_secret_only(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/tg/hook"
    config = {
        "mode": "webhook",
        "webhook_url": url,
        "webhook_port": port,
        "webhook_secret": SECRET,
    }

    async def scenario() -> None:
        async with TgService(tmp_path, telegram=config) as svc:
            hooks = [p for m, p in svc.api.calls if m == "setWebhook"]
            assert len(hooks) == 1
            assert hooks[0]["url"] == url and hooks[0]["secret_token"] == SECRET
            assert not any(m == "getUpdates" for m, _ in svc.api.calls)
            # The stand-in posts updates to the webhook as Telegram does.
            start = await svc.send(ALICE, "/start")
            assert "lose money" in start[0]
            assert "Disclaimer accepted" in (await svc.press(ALICE, "I accept"))[0]
            assert svc.api.deliveries == [200, 200]

            processed = svc.bot.processed
            svc.api.meet(BOB)  # these posts bypass the stand-in, which knows chats that wrote
            async with aiohttp.ClientSession() as client:
                for headers in ({SECRET_HEADER: "wrong-secret-0000"}, {}):
                    async with client.post(
                        url, json=_update(BOB, "/start", 900), headers=headers
                    ) as answer:
                        assert answer.status == 403
                async with client.post(
                    url, data=b"not json", headers={SECRET_HEADER: SECRET}
                ) as answer:
                    assert answer.status == 400
                async with client.post(
                    url, json=_update(BOB, "/help", 901), headers={SECRET_HEADER: SECRET}
                ) as answer:
                    assert answer.status == 200
            await svc.until(lambda: svc.bot.processed == processed + 1)
            assert svc.bot.webhook is not None and svc.bot.webhook.refused == 2
            bob = svc.api.texts(BOB)
            assert len(bob) == 1 and "<b>Commands</b>" in bob[0], "only the /help got through"

    asyncio.run(scenario())


def test_webhook_mode_needs_an_address_and_a_secret() -> None:
    for config, expected in (
        ({"webhook_secret": SECRET}, "webhook_url"),
        ({"webhook_url": "https://x.example/h"}, "webhook_secret"),
        ({"webhook_url": "https://x/h", "webhook_secret": "short"}, "16 to 256"),
    ):
        with pytest.raises(ConfigError, match=expected):
            webhook_settings(TelegramConfig(mode="webhook", **config))
    ok = TelegramConfig(mode="webhook", webhook_url="https://bot.example/tg", webhook_secret=SECRET)
    assert webhook_settings(ok) == ("https://bot.example/tg", "/tg", SECRET)
