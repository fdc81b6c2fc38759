"""Rampart's bot, through the real python-telegram-bot client, against Telegram's words.

The Bot API stand-in carries the conversation, but every answer under test is a fixture's,
served as it is (:meth:`FakeBotApi.script`), and every update is a fixture's
(:meth:`FakeBotApi.push_update`):

- python-telegram-bot turns each fixture answer into its objects unchanged (``to_dict`` gives
  the fixture back), and each error answer into the exception Rampart catches for it;
- Rampart's bot, started on the fixtures' getMe and getChat, handles the fixtures' updates (a
  command, a tap, an edit, a group command) and answers in the right chats;
- each error answer reaches the Rampart code that handles it: a 429 becomes a wait of the
  fixture's ``retry_after``, a 403 or 400 a notice that cannot arrive, "chat not found" the
  operator-chat warning, "message is not modified" nothing, 401 a failed start and doctor FAIL;
- everything Rampart sends uses only the parameters Telegram documents, with their types.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import SecretStr
from solders.keypair import Keypair
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardMarkup,
    TelegramObject,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
)
from telegram.ext import ApplicationBuilder

from rampart.config import load_settings
from rampart.operator import investors as inv_store
from rampart.runtime.messaging import SendLater
from rampart.security import wallets
from rampart.security.secrets import KeyBox
from rampart.telegram import chats, messenger
from rampart.telegram.bot import build_bot
from rampart.telegram.settings import TelegramConfig
from rampart.telegram.text import DISCLAIMER
from rampart.telegram.webhook import WebhookServer
from rampart.wiring.doctor import check_operator_chat
from rampart_testkit.botapi.standin import FakeBotApi
from tests.contracts.telegram.shapes import error_names, fixture, request_problems, success_names
from tests.telegram.conftest import OPERATOR, TOKEN, TgService

ALICE = 123456789
"""The investor of the fixtures."""
GROUP = -1001234567890
UPLOAD = b"\x89PNG\r\n\x1a\n" + bytes(64)

Call = Callable[[Bot, dict[str, Any]], Awaitable[Any]]


def _keyboard(request: dict[str, Any]) -> InlineKeyboardMarkup | None:
    markup = request.get("reply_markup")
    return None if markup is None else InlineKeyboardMarkup.de_json(markup, None)


CALLS: dict[str, Call] = {
    "getMe": lambda bot, r: bot.get_me(),
    "getUpdates": lambda bot, r: bot.get_updates(offset=r["offset"], timeout=r["timeout"]),
    "sendMessage": lambda bot, r: bot.send_message(
        r["chat_id"], r["text"], parse_mode=r.get("parse_mode"), reply_markup=_keyboard(r)
    ),
    "editMessageText": lambda bot, r: bot.edit_message_text(
        r["text"], chat_id=r["chat_id"], message_id=r["message_id"], parse_mode=r["parse_mode"]
    ),
    "answerCallbackQuery": lambda bot, r: bot.answer_callback_query(
        r["callback_query_id"], text=r.get("text")
    ),
    "deleteMessage": lambda bot, r: bot.delete_message(r["chat_id"], r["message_id"]),
    "getChat": lambda bot, r: bot.get_chat(r["chat_id"]),
    "setMyCommands": lambda bot, r: bot.set_my_commands(
        [BotCommand(c["command"], c["description"]) for c in r["commands"]],
        scope=BotCommandScopeChat(r["scope"]["chat_id"]) if "scope" in r else None,
    ),
    "setWebhook": lambda bot, r: bot.set_webhook(
        r["url"], secret_token=r["secret_token"], allowed_updates=r["allowed_updates"]
    ),
    "deleteWebhook": lambda bot, r: bot.delete_webhook(),
    "sendPhoto": lambda bot, r: bot.send_photo(
        r["chat_id"], UPLOAD, filename=r["photo"]["filename"]
    ),
    "sendDocument": lambda bot, r: bot.send_document(
        r["chat_id"], UPLOAD, filename=r["document"]["filename"]
    ),
    "sendMesage": lambda bot, r: bot.do_api_request("sendMesage", api_kwargs=r),
}
"""Each fixture's method as python-telegram-bot calls it (the way Rampart's bot does)."""

RAISES: dict[str, type[Exception]] = {
    "error_message_too_long": BadRequest,
    "error_message_to_delete_not_found": BadRequest,
    "error_bot_blocked": Forbidden,
    "error_cant_initiate": Forbidden,
    "error_chat_not_found": BadRequest,
    "error_message_not_modified": BadRequest,
    "error_message_to_edit_not_found": BadRequest,
    "error_query_too_old": BadRequest,
    "error_cant_parse_entities": BadRequest,
    "error_command_description_too_long": BadRequest,
    "error_flood": RetryAfter,
    "error_unauthorized": InvalidToken,
    "error_method_not_found": EndPointNotFound,
    "error_webhook_active": Conflict,
}
"""The python-telegram-bot exception each error answer must become (Rampart catches these)."""


def _plain(value: Any) -> Any:
    if isinstance(value, TelegramObject):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _kept(expected: Any, got: Any, where: str = "result") -> list[str]:
    """Where ``got`` (python-telegram-bot's object as a dict) differs from the fixture: every
    value the fixture has, and nothing more but python-telegram-bot's False defaults."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = [f"{where}.{k}: added as {v!r}" for k, v in got.items() if k not in expected and v]
        for key, value in expected.items():
            out += _kept(value, got.get(key), f"{where}.{key}")
        return out
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        return [
            p
            for i, (e, g) in enumerate(zip(expected, got, strict=True))
            for p in _kept(e, g, f"{where}[{i}]")
        ]
    return [] if expected == got else [f"{where}: {got!r} where Telegram sent {expected!r}"]


def _sent_as(value: Any) -> Any:
    """A form value the stand-in received, as Telegram reads it."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def _through_ptb(name: str) -> tuple[Any, FakeBotApi]:
    fx = fixture(name)
    api = await FakeBotApi().start()
    try:
        async with Bot(TOKEN, base_url=f"{api.url}/bot") as bot:
            api.script(fx)
            try:
                return await CALLS[fx["method"]](bot, fx["request"]), api
            except Exception as exc:  # the error answers: checked by the caller
                return exc, api
    finally:
        await api.close()


def test_every_fixture_is_called_and_every_error_mapped() -> None:
    assert {fixture(n)["method"] for n in success_names() + error_names()} <= set(CALLS)
    assert sorted(RAISES) == error_names()


@pytest.mark.parametrize("name", success_names())
def test_python_telegram_bot_reads_every_answer_as_telegram_wrote_it(name: str) -> None:
    fx = fixture(name)
    got, api = asyncio.run(_through_ptb(name))
    assert _kept(fx["response"]["result"], _plain(got)) == []
    # The last call of the method: the scripted one (python-telegram-bot's start asks getMe).
    params = [p for m, p in api.calls if m == fx["method"]][-1]
    assert request_problems(fx["method"], params) == []
    for key, value in fx["request"].items():
        if key not in fx.get("multipart", []):
            assert _sent_as(params.get(key)) == value, key


@pytest.mark.parametrize("name", error_names())
def test_python_telegram_bot_raises_what_rampart_catches(name: str) -> None:
    fx = fixture(name)
    got, _ = asyncio.run(_through_ptb(name))
    assert type(got) is RAISES[name], repr(got)
    said = fx["response"]["description"]
    if isinstance(got, RetryAfter):
        assert messenger.retry_after_s(got) == fx["response"]["parameters"]["retry_after"]
    elif isinstance(got, BadRequest) and not isinstance(got, EndPointNotFound):
        # python-telegram-bot drops "Bad Request: " and capitalizes what is left.
        assert got.message.lower() == said.removeprefix("Bad Request: ").lower()
    elif not isinstance(got, EndPointNotFound):
        assert said in got.message


def _documented(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [p for method, params in calls for p in request_problems(method, params)]


def test_the_bot_handles_telegrams_updates_and_error_answers(tmp_path: Path) -> None:
    updates = fixture("getUpdates")["response"]["result"]
    edited = fixture("editMessageText")

    async def scenario() -> None:
        svc = TgService(tmp_path)
        svc.api.script(fixture("getMe"))
        svc.api.script(fixture("getChat_private"))
        async with svc:
            bot = svc.bot
            assert bot.app.bot.username == "rampart_bot"  # the fixture's getMe
            assert bot.operator_chat_problem is None  # the fixture's getChat
            svc.api.script(edited)  # the tap edits the fixture's message 11
            before = bot.processed
            for update in updates:
                svc.api.push_update(update)
            await svc.until(lambda: bot.processed >= before + len(updates))

            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None and inv.accepted_disclaimer  # /start, then the tap
            to_alice = svc.api.texts(ALICE)
            # The answer to /start, in Alice's chat: the disclaimer, then the terms.
            assert to_alice[0].startswith(DISCLAIMER)
            assert "edited messages" in to_alice[-1]  # the edited command is not run again
            edits = [p for m, p in svc.api.calls if m == "editMessageText"]
            assert [(p["chat_id"], p["message_id"]) for p in edits] == [(ALICE, 11)]
            answered = [p for m, p in svc.api.calls if m == "answerCallbackQuery"]
            assert [p["callback_query_id"] for p in answered] == ["4382bfdwdsb323b2d9"]
            # /portfolio@rampart_bot in the group: pointed to the private chat, by the
            # username of the fixture's getMe.
            assert "t.me/rampart_bot" in svc.api.texts(GROUP)[-1]

            # The error answers, each where Rampart meets it.
            account = inv_store.account_id_for(ALICE)
            svc.api.script(fixture("error_flood"))
            with pytest.raises(SendLater) as wait:
                await messenger.deliver(bot, account, "Your order filled.")
            assert wait.value.seconds == 5
            svc.pace.advance(5_000)  # the chat's hold is over
            for refused in ("error_bot_blocked", "error_cant_initiate", "error_message_too_long"):
                svc.api.script(fixture(refused))
                assert await messenger.deliver(bot, account, "Your order filled.") is False
            svc.api.script(fixture("error_chat_not_found"))
            problem = await chats.check_operator_chat(bot, warn=False)
            assert (
                problem is not None and "chat not found" in problem.lower() and "/start" in problem
            )
            query = CallbackQuery.de_json(updates[1]["callback_query"], bot.app.bot)
            assert query is not None
            svc.api.script(fixture("error_message_not_modified"))
            await chats.edit(query, "Disclaimer accepted.")  # already shown: not an error
            svc.api.script(fixture("error_message_to_edit_not_found"))
            with pytest.raises(BadRequest):
                await chats.edit(query, "Disclaimer accepted.")
            assert await bot.tell_operators("", [_png(tmp_path), _csv(tmp_path)])
            assert not any(svc.api.scripted.values())  # every scripted answer was asked for
        sent = [m for m, _ in svc.api.calls]
        for method in ("getMe", "getChat", "setMyCommands", "deleteWebhook", "getUpdates"):
            assert method in sent, method
        for method in ("sendMessage", "editMessageText", "answerCallbackQuery"):
            assert method in sent, method
        assert "sendPhoto" in sent and "sendDocument" in sent
        assert _documented(svc.api.calls) == []
        assert _documented([(m, p) for m, p, _ in svc.api.refused]) == []

    asyncio.run(scenario())


def _png(tmp_path: Path) -> Path:
    path = tmp_path / "equity.png"
    path.write_bytes(UPLOAD)
    return path


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "trades.csv"
    path.write_text("symbol,pnl\nBTC/USDT,12.50\n")
    return path


def test_a_pasted_secret_the_investor_deleted_first_is_still_read(tmp_path: Path) -> None:
    """Deleting the pasted secret is answered "message to delete not found" when the investor
    deleted it first: the message is gone, which is all the deleting was for."""
    keypair = Keypair()

    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            box = KeyBox.from_text(svc.settings.master_key)  # type: ignore[arg-type]
            await svc.send(ALICE, "/start")
            await svc.press(ALICE, "I accept")
            await svc.send(ALICE, "/connect solana")
            svc.api.script(fixture("error_message_to_delete_not_found"))
            saved = await svc.send(ALICE, str(keypair))
            assert svc.api.refusals("deleteMessage") == ["Bad Request: message to delete not found"]
            assert str(keypair.pubkey()) in saved[-1] and "saved encrypted" in saved[-1], saved
            opened = wallets.open_keypair(svc.session.db, box, inv_store.account_id_for(ALICE))
            assert opened is not None and opened.pubkey() == keypair.pubkey()

    asyncio.run(scenario())


def test_a_start_on_a_token_telegram_refuses_fails_and_doctor_says_so(tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str, str]:
        api = await FakeBotApi().start()
        try:
            settings = load_settings(
                store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
                telegram_token=TOKEN,
                telegram={"operator_chat_id": OPERATOR, "api_url": api.url},
            )
            # No operator behind it: the token is refused before any command (the facade is asked
            # for the investor desk and the command book only, at construction).
            nobody = SimpleNamespace(investor_desk=lambda *_: None, command_book=lambda: None)
            bot = build_bot(settings, cast(Any, nobody), asyncio.Lock(), base_url=api.url)
            api.script(fixture("error_unauthorized"))
            with pytest.raises(InvalidToken):
                await bot.run(asyncio.Event(), lambda: None)
            said = []
            for name in ("error_unauthorized", "error_chat_not_found", "getChat_private"):
                answer = fixture(name)
                api.script({**answer, "method": "getChat"})
                check = await asyncio.to_thread(check_operator_chat, settings)
                assert check is not None
                said.append(f"{check.status} {check.message}")
            assert _documented([(m, p) for m, p in api.calls]) == []
            return said[0], said[1], said[2]
        finally:
            await api.close()

    refused, unknown, reached = asyncio.run(scenario())
    assert refused.startswith("FAIL") and "refuses the bot token (Unauthorized)" in refused
    assert unknown.startswith("FAIL") and '"Bad Request: chat not found"' in unknown
    assert "send /start" in unknown
    assert reached.startswith("OK") and "(private)" in reached


def test_webhook_mode_registers_with_documented_parameters() -> None:
    async def scenario() -> dict[str, Any]:
        api = await FakeBotApi().start()
        app = ApplicationBuilder().token(TOKEN).base_url(f"{api.url}/bot").updater(None).build()
        cfg = TelegramConfig(
            mode="webhook",
            webhook_url="https://bot.example.org/telegram",
            webhook_secret=SecretStr("s3cr3t-token_0123456789"),
            webhook_port=0,
        )
        server = WebhookServer(app, cfg)
        try:
            await app.initialize()
            api.script(fixture("setWebhook"))
            await server.start()
            await server.stop()
            await app.shutdown()
        finally:
            await api.close()
        (params,) = [p for m, p in api.calls if m == "setWebhook"]
        return params

    params = asyncio.run(scenario())
    assert request_problems("setWebhook", params) == []
    assert params["url"] == "https://bot.example.org/telegram"
    assert params["secret_token"] == "s3cr3t-token_0123456789"
    assert {"message", "edited_message", "callback_query"} <= set(
        _sent_as(params["allowed_updates"])
    )
