"""Keys typed into the chat: a key on the ``/connect`` line is deleted before
anything else and never echoed; a key or secret that cannot be one for the exchange (``abc``,
5,000 characters, a line break inside) is refused in a sentence saying what one looks like,
before the secret is asked or the exchange is called, and nothing is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from rampart.store import models as m
from tests.telegram.conftest import ALICE, BOB, TgService

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
"""Binance's documented example key and secret (64 letters and digits each)."""
MALFORMED = ["abc", "A" * 5_000, API_KEY[:32] + "\n" + API_KEY[32:]]
SHAPE = "64 letters and digits"


def _stored(svc: TgService) -> int:
    with svc.session.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(m.credentials)).scalar())


def _message_id(svc: TgService, update_id: int) -> int:
    (update,) = [u for u in svc.api.updates if u["update_id"] == update_id]
    return int(update["message"]["message_id"])


async def _registered(svc: TgService, uid: int) -> None:
    await svc.send(uid, "/start")
    await svc.press(uid, "I accept")


def _checker(calls: list[tuple[str, str, str]]):  # type: ignore[no-untyped-def]
    async def check(exchange: str, key: str, secret: str) -> None:
        calls.append((exchange, key, secret))

    return check


def test_a_key_on_the_connect_line_is_deleted_first_and_never_echoed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await _registered(svc, ALICE)
            for uid, line in (
                (ALICE, f"/connect binance {API_KEY}"),
                (ALICE, f"/connect binance {API_KEY} {SECRET}"),
                (BOB, f"/connect binance {API_KEY}"),  # never sent /start: deleted all the same
            ):
                mark = len(svc.api.calls)
                update_id = svc.api.push_text(uid, line)
                message_id = _message_id(svc, update_id)
                await svc.until(lambda u=update_id: svc.bot.processed >= u)
                mine = [(meth, p) for meth, p in svc.api.calls[mark:] if p.get("chat_id") == uid]
                # The first thing the bot does in that chat is deleting the message.
                assert mine[0] == ("deleteMessage", {"chat_id": uid, "message_id": message_id})
                assert (uid, message_id) not in svc.api.messages
                answer = [p["text"] for meth, p in mine if meth == "sendMessage"]
                assert len(answer) == 1 and "deleted" in answer[0], answer
            said = repr(svc.api.calls) + svc.log_path.read_text()
            assert API_KEY not in said and SECRET not in said
            assert _stored(svc) == 0

    asyncio.run(scenario())


def test_malformed_keys_are_refused_before_the_secret_is_asked(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            checked: list[tuple[str, str, str]] = []
            svc.bot.check_key = _checker(checked)
            await _registered(svc, ALICE)
            for bad in MALFORMED:
                assert "API key" in (await svc.send(ALICE, "/connect binance"))[0]
                answer = await svc.send(ALICE, bad)
                assert len(answer) == 1 and SHAPE in answer[0], answer
                assert "secret" not in answer[0].lower()
                assert bad[:20] not in answer[0]
            # Malformed secrets: refused before the exchange is asked.
            for bad in MALFORMED:
                await svc.send(ALICE, "/connect binance")
                assert "secret" in (await svc.send(ALICE, API_KEY))[0].lower()
                answer = await svc.send(ALICE, bad)
                assert len(answer) == 1 and SHAPE in answer[0], answer
                assert bad[:20] not in answer[0]
            assert checked == []
            assert _stored(svc) == 0
            deleted = [p["message_id"] for meth, p in svc.api.calls if meth == "deleteMessage"]
            assert len(deleted) == 2 * len(MALFORMED) + len(MALFORMED)  # every key and secret
            # A well-formed key and secret still go through to the exchange's check.
            await svc.send(ALICE, "/connect binance")
            await svc.send(ALICE, API_KEY)
            saved = (await svc.send(ALICE, SECRET))[-1]
            assert "saved encrypted" in saved and checked == [("binance", API_KEY, SECRET)]
            assert _stored(svc) == 1

    asyncio.run(scenario())
