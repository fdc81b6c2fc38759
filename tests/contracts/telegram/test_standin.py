"""The Bot API stand-in (:mod:`rampart_testkit.botapi.standin`) against Telegram's words.

Each fixture's request goes to the stand-in over HTTP, in a state where Telegram would give the
fixture's answer (the chat wrote to the bot, the message exists, the user blocked the bot...).
The answer must be Telegram's: the documented envelope and field tables
(:func:`~tests.contracts.telegram.shapes.answer_problems`), every key of the fixture's answer with
the same JSON kind, the values a request decides (text as shown, entities, keyboard, chat) equal;
an error answer equal to the fixture's, status, body and ``Retry-After`` header included.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from rampart_testkit.botapi.standin import FakeBotApi
from tests.contracts.telegram.shapes import (
    answer_problems,
    error_names,
    fixture,
    missing,
    object_problems,
    success_names,
)
from tests.telegram.conftest import TOKEN

ALICE = 123456789
"""The investor of the fixtures (a private chat has the user's id)."""
GROUP = -1001234567890
"""The operators' supergroup of the fixtures."""
KEYBOARD = {"inline_keyboard": [[{"text": "I accept", "callback_data": "disclaimer:accept"}]]}
UPLOADS = {
    "equity.png": b"\x89PNG\r\n\x1a\n" + bytes(200),
    "trades.csv": b"symbol,pnl\nBTC/USDT,12.50\n",
}

Answer = tuple[int, Any, dict[str, str]]


async def call(api: FakeBotApi, method: str, params: dict[str, Any], **kw: Any) -> Answer:
    """``method`` with ``params`` as a client sends them (JSON; multipart with uploads)."""
    token = kw.get("token", TOKEN)
    url = f"{api.url}/bot{token}/{method}"
    uploads = kw.get("multipart") or []
    async with aiohttp.ClientSession() as client:
        if uploads:
            form = aiohttp.FormData()
            for key, value in params.items():
                if key in uploads:
                    name = value["filename"]
                    form.add_field(key, UPLOADS[name], filename=name)
                else:
                    form.add_field(key, json.dumps(value) if not isinstance(value, str) else value)
            sending = client.post(url, data=form)
        else:
            sending = client.post(url, json=params)
        async with sending as answer:
            return answer.status, await answer.json(content_type=None), dict(answer.headers)


async def _sent(api: FakeBotApi, **params: Any) -> int:
    status, body, _ = await call(api, "sendMessage", params)
    assert status == 200, body
    message_id: int = body["result"]["message_id"]
    return message_id


async def _tapped(api: FakeBotApi) -> str:
    api.meet(ALICE)
    message_id = await _sent(
        api, chat_id=ALICE, text="<b>Before you start</b>", parse_mode="HTML", reply_markup=KEYBOARD
    )
    api.push_button(ALICE, "disclaimer:accept", message_id)
    query_id: str = api.updates[-1]["callback_query"]["id"]
    return query_id


async def _webhook(api: FakeBotApi) -> None:
    status, body, _ = await call(api, "setWebhook", {"url": "http://127.0.0.1:9/telegram"})
    assert status == 200, body


Setup = Callable[[FakeBotApi, dict[str, Any]], Awaitable[None]]


async def _nothing(api: FakeBotApi, request: dict[str, Any]) -> None:
    del api, request


async def _met(api: FakeBotApi, request: dict[str, Any]) -> None:
    del request
    api.meet(ALICE)


async def _group(api: FakeBotApi, request: dict[str, Any]) -> None:
    del request
    api.push_text(ALICE, "/portfolio", chat=GROUP)


async def _edit(api: FakeBotApi, request: dict[str, Any]) -> None:
    api.meet(ALICE)
    request["message_id"] = await _sent(
        api, chat_id=ALICE, text="Before you start", reply_markup=KEYBOARD
    )
    api.last_in_chat.pop(ALICE)  # a second later: the edit counts toward the chat's limit


async def _unchanged(api: FakeBotApi, request: dict[str, Any]) -> None:
    api.meet(ALICE)
    request["message_id"] = await _sent(api, chat_id=ALICE, text=request["text"], parse_mode="HTML")


async def _tap(api: FakeBotApi, request: dict[str, Any]) -> None:
    request["callback_query_id"] = await _tapped(api)


async def _user_message(api: FakeBotApi, request: dict[str, Any]) -> None:
    api.push_text(ALICE, "my API key")
    request["message_id"] = api.updates[-1]["message"]["message_id"]


async def _blocked(api: FakeBotApi, request: dict[str, Any]) -> None:
    del request
    api.meet(ALICE)
    api.block(ALICE)


async def _flooded(api: FakeBotApi, request: dict[str, Any]) -> None:
    del request
    api.meet(ALICE)
    api.flood[ALICE] = [5]


async def _webhook_set(api: FakeBotApi, request: dict[str, Any]) -> None:
    del request
    await _webhook(api)


SETUP: dict[str, Setup] = {
    "getMe": _nothing,
    "sendMessage": _met,
    "editMessageText": _edit,
    "answerCallbackQuery": _tap,
    "deleteMessage": _user_message,
    "getChat_private": _met,
    "getChat_supergroup": _group,
    "setMyCommands": _met,
    "setWebhook": _nothing,
    "deleteWebhook": _nothing,
    "sendPhoto": _group,
    "sendDocument": _group,
    "error_message_too_long": _met,
    "error_message_to_delete_not_found": _met,
    "error_bot_blocked": _blocked,
    "error_cant_initiate": _nothing,
    "error_chat_not_found": _nothing,
    "error_message_not_modified": _unchanged,
    "error_message_to_edit_not_found": _met,
    "error_query_too_old": _nothing,
    "error_cant_parse_entities": _met,
    "error_command_description_too_long": _nothing,
    "error_flood": _flooded,
    "error_unauthorized": _nothing,
    "error_method_not_found": _nothing,
    "error_webhook_active": _webhook_set,
}
"""How to bring the stand-in into the state where Telegram answers each fixture's request."""

DECIDED = {
    "sendMessage": ("text", "entities", "reply_markup", "chat.id", "chat.type"),
    "editMessageText": ("text", "entities", "chat.id"),
    "getChat_private": ("id", "type"),
    "getChat_supergroup": ("id", "type"),
    "sendPhoto": ("chat.id", "chat.type"),
    "sendDocument": ("chat.id", "chat.type", "document.file_name", "document.mime_type"),
}
"""Values of the answer that the request decides: the stand-in must give the fixture's."""


def _at(value: Any, path: str) -> Any:
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


async def _answer(name: str) -> tuple[Answer, dict[str, Any]]:
    fx = fixture(name)
    request = json.loads(json.dumps(fx["request"]))
    api = await FakeBotApi().start()
    try:
        await SETUP[name](api, request)
        token = (
            "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawX"
            if name == "error_unauthorized"
            else TOKEN
        )
        answer = await call(api, fx["method"], request, token=token, multipart=fx.get("multipart"))
    finally:
        await api.close()
    return answer, request


def test_every_fixture_has_a_setup() -> None:
    assert sorted(SETUP) == sorted(n for n in success_names() + error_names() if n != "getUpdates")


@pytest.mark.parametrize("name", [n for n in success_names() if n != "getUpdates"])
def test_the_standin_answers_as_telegram_does(name: str) -> None:
    fx = fixture(name)
    (status, body, headers), request = asyncio.run(_answer(name))
    assert status == 200, body
    assert answer_problems(fx["method"], status, body, headers) == []
    expected = fx["response"]
    assert missing(expected, body, "answer") == []
    assert body.get("description") == expected.get("description")
    for path in DECIDED.get(name, ()):
        assert _at(body["result"], path) == _at(expected["result"], path), path
    if name == "editMessageText":
        assert "reply_markup" not in body["result"]  # no keyboard sent with the edit: none shown
    if name == "sendDocument":
        assert body["result"]["document"]["file_size"] == len(UPLOADS["trades.csv"])
    del request


@pytest.mark.parametrize("name", error_names())
def test_the_standin_refuses_as_telegram_does(name: str) -> None:
    fx = fixture(name)
    (status, body, headers), _ = asyncio.run(_answer(name))
    assert (status, body) == (fx["status"], fx["response"])
    assert answer_problems(fx["method"], status, body, headers) == []
    for header, value in fx.get("headers", {}).items():
        assert headers.get(header) == value, header


def test_updates_come_as_telegram_sends_them() -> None:
    """A command, a tap, an edit and a group command, as getUpdates serves them and as the
    webhook receives them (with the secret token header)."""
    fx = fixture("getUpdates")
    expected = fx["response"]["result"]

    async def scenario() -> tuple[Answer, list[tuple[Any, str]]]:
        posted: list[tuple[Any, str]] = []

        async def receive(request: web.Request) -> web.Response:
            header = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            posted.append((await request.json(), header))
            return web.Response(text="ok")

        hook = web.Application()
        hook.router.add_post("/telegram", receive)
        runner = web.AppRunner(hook)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        api = await FakeBotApi().start()
        try:
            api.push_text(ALICE, "/start")
            query = await _tapped(api)
            assert query
            api.push_edit(ALICE, "/invest 12000")
            api.push_text(ALICE, "/portfolio@rampart_bot", chat=GROUP)
            polled = await call(api, "getUpdates", {"offset": 0, "timeout": 0})
            await call(api, "deleteWebhook", {})
            secret = "s3cr3t-token_0123456789"
            url = f"http://127.0.0.1:{port}/telegram"
            await call(api, "setWebhook", {"url": url, "secret_token": secret})
            api.push_text(ALICE, "/help")
            for _ in range(500):
                if posted:
                    break
                await asyncio.sleep(0.01)
        finally:
            await api.close()
            await runner.cleanup()
        return polled, posted

    (status, body, headers), posted = asyncio.run(scenario())
    assert status == 200 and answer_problems("getUpdates", status, body, headers) == []
    assert missing(fx["response"], body, "answer") == []
    got = body["result"]
    for want, update in zip(expected, got, strict=True):
        kind = next(k for k in want if k != "update_id")
        assert kind in update, (kind, update)
        for path in ("text", "entities", "chat.type", "data", "message.reply_markup"):
            assert _at(update[kind], path) == _at(want[kind], path), (kind, path)
    assert [u["update_id"] for u in got] == sorted({u["update_id"] for u in got})
    assert len(posted) == 1
    update, secret = posted[0]
    assert object_problems(update, ["Update"], "update") == []
    assert secret == "s3cr3t-token_0123456789"


def test_the_checks_refuse_shapes_telegram_does_not_use() -> None:
    """The checks above can fail: each answer here is one Telegram never gives."""
    good = fixture("sendMessage")["response"]
    assert answer_problems("sendMessage", 200, good) == []

    def result(**changes: Any) -> dict[str, Any]:
        return {"ok": True, "result": {**good["result"], **changes}}

    assert answer_problems("sendMessage", 200, result(message_id="13"))  # a string id
    assert answer_problems("sendMessage", 200, result(sender="bot"))  # not a Message field
    no_date = {k: v for k, v in good["result"].items() if k != "date"}
    assert answer_problems("sendMessage", 200, {"ok": True, "result": no_date})
    assert answer_problems("sendMessage", 200, {"ok": True, "result": True})  # not a Message
    assert answer_problems("sendMessage", 200, {"result": good["result"]})  # no ok
    chat = {k: v for k, v in fixture("getChat_private")["response"]["result"].items()}
    del chat["accepted_gift_types"]
    assert answer_problems("getChat", 200, {"ok": True, "result": chat})
    flood = fixture("error_flood")["response"]
    assert answer_problems("sendMessage", 429, flood, {"Retry-After": "5"}) == []
    assert answer_problems("sendMessage", 429, flood)  # no Retry-After header
    no_wait = {k: v for k, v in flood.items() if k != "parameters"}
    assert answer_problems("sendMessage", 429, no_wait, {"Retry-After": "5"})
    assert answer_problems("sendMessage", 400, {"ok": False, "error_code": 400})  # no description
    assert answer_problems("sendMessage", 403, {"ok": False, "error_code": 400, "description": "x"})
    assert missing(good, result(entities=[]), "answer")
    assert missing(good, {"ok": True, "result": no_date}, "answer")
