"""A local Bot API stand-in: aiohttp.web on 127.0.0.1, answering what python-telegram-bot calls
and recording every call. Updates are queued by the test and served by long-polling
``getUpdates`` (a short timeout, so shutdown is quick), or, once the bot has called
``setWebhook``, posted to its webhook with the secret token, as Telegram does.

It answers in the shapes of Telegram's documented answers and refuses what Telegram refuses,
with Telegram's status and description; ``tests/contracts/telegram`` holds both and checks this
stand-in against them. Refused (see :mod:`rampart_testkit.botapi.rules`): HTML outside
Telegram's subset, text over 4,096 characters, a private chat that never wrote to the bot or
blocked it (403), an edit that changes nothing, deleting a message that is not there, callback
data over 64 bytes, a callback query answered twice or never sent, ``getChat`` on an unknown
chat, another bot's token (401), a method it does not serve (Telegram's 404 for an unknown
method: a call it cannot answer truthfully must not pass), ``getUpdates`` while a webhook is
set (409). Refused calls are kept in ``refused``, not in ``calls``: nobody saw them.

With ``limits`` on (the default) it also keeps Telegram's flood limits (Bots FAQ, "My bot is hitting
limits"): a message (``sendMessage``, ``sendPhoto``, ``sendDocument``) or an edit
(``editMessageText``) less than a second after
the last one accepted in its chat, the 31st in any second overall, or the 21st in any minute in
one group is answered 429 ``Too Many Requests: retry after N`` with ``parameters.retry_after``
and a ``Retry-After`` header, the shape of ``tests/contracts/telegram/error_flood.json``. Time
is ``stamp`` (a test points it at the clock its bot paces on)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from rampart.domain.errors import present
from rampart_testkit.botapi.flood import flood_wait, too_many
from rampart_testkit.botapi.rules import Refusal, check_call, markup_of, render_html
from rampart_testkit.botapi.shapes import (
    BOT_USER,
    COUNTED,
    GET_ME_FLAGS,
    METHODS,
    TOKEN,
    WRITES,
    chat_of,
    file_message,
    full_chat,
    params_of,
    user_message,
    user_of,
)


class FakeBotApi:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
        """Every update pushed, confirmed or not (tests count them)."""
        self._confirmed = 0
        """Updates below this id are confirmed and never given again (Telegram's getUpdates)."""
        self._new = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.webhook: tuple[str, str] | None = None
        """(url, secret token) once the bot called setWebhook."""
        self.deliveries: list[int] = []
        """HTTP status of each update posted to the webhook."""
        self._deliveries: set[asyncio.Task[None]] = set()
        self.flood: dict[int, list[int]] = {}
        """Chat id → retry_after of the 429s its next sendMessage calls get (one each)."""
        self.stamp: Callable[[], float] = time.monotonic
        """What ``sent_at`` is measured with (a test may use its simulated clock, in seconds)."""
        self.sent_at: list[tuple[float, int]] = []
        """(stamp, chat id) of every accepted sendMessage and edit (the flood rates' count)."""
        self.flooded: list[int] = []
        """Chat id of every sendMessage answered 429 from ``flood``."""
        self.flooded_at: list[float] = []  # ``stamp`` of each of those answers
        self.scripted: dict[str, list[dict[str, Any]]] = {}
        """Method → answers its next calls get as they are, each used once (a contract test
        fills it with fixtures: see :meth:`script`)."""
        self.chats: dict[int, dict[str, Any]] = {}
        """Chats that sent the bot something: only these may be written to (or looked up)."""
        self.messages: dict[tuple[int, int], tuple[str, Any]] = {}
        """(chat id, message id) → (text, reply markup) of what the bot sent, as shown now."""
        self.answers: dict[str, str] = {}
        """Callback query id → the text the bot answered it with ("" for a silent answer)."""
        self.commands: dict[str, list[str]] = {}
        """setMyCommands per scope ("default", "chat:<id>", …) → the command names."""
        self.refused: list[tuple[str, dict[str, Any], str]] = []
        """(method, params, description) of every call refused the way Telegram would."""
        self.blocked: set[int] = set()
        """Users who blocked the bot: writing to them is refused (403)."""
        self.queries: set[str] = set()
        """Ids of the callback queries sent to the bot (only these may be answered)."""
        self.shown: dict[tuple[int, int], dict[str, Any]] = {}
        """(chat id, message id) → the Message the bot's text message is, as answered."""
        self._ids_of: dict[int, int] = {}
        """id() of a recorded sendMessage's params → the message id it got."""
        self.limits = True
        """Keep Telegram's flood limits (429 with retry_after) on ``stamp``."""
        self.accepted: deque[tuple[int, int]] = deque()
        """(stamp in ms, chat id) of the messages accepted in the last minute."""
        self.last_in_chat: dict[int, int] = {}
        """Chat id → stamp in ms of the last message accepted there."""
        self.limited: list[tuple[int, int]] = []
        """(chat id, retry_after) of every message answered 429 by the flood limits (kept here,
        not in ``refused``: a 429 is an answer to wait, which a bot may honour)."""

    async def start(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what the test sends ------------------------------------------------------------------

    def script(self, fixture: dict[str, Any]) -> None:
        """The next call of ``fixture["method"]`` gets the fixture's answer, status, body and
        headers as they are; the call is kept in ``calls`` (answered 200) or ``refused``."""
        self.scripted.setdefault(fixture["method"], []).append(fixture)

    def meet(self, chat_id: int) -> None:
        """``chat_id`` wrote to the bot before the test began (it may be written to)."""
        self.chats.setdefault(chat_id, chat_of(chat_id, None))

    def block(self, uid: int) -> None:
        """``uid`` blocks the bot: Telegram refuses what the bot then writes to them."""
        self.blocked.add(uid)

    def push_text(self, uid: int, text: str, *, chat: int | None = None) -> int:
        """``uid`` writes ``text`` in a private chat, or in the group ``chat`` (negative)."""
        return self._push({"message": user_message(next(self._message_ids), uid, text, chat)})

    def push_edit(self, uid: int, text: str, *, chat: int | None = None) -> int:
        """``uid`` edits one of their earlier messages into ``text``."""
        message = user_message(next(self._message_ids), uid, text, chat)
        message["edit_date"] = 1_700_000_060
        return self._push({"edited_message": message})

    def push_button(self, uid: int, data: str, message_id: int, *, chat: int | None = None) -> int:
        where = chat_of(uid, chat)
        # The message the button sits on, as Telegram shows it now.
        message = self.shown.get((where["id"], message_id)) or {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": where,
            "date": 1_700_000_000,
            "text": "…",
        }
        query = {
            # Each tap is its own query, with its own id (a double tap is two queries).
            "id": f"cq{len(self.updates) + 1}",
            "from": user_of(uid),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return self._push({"callback_query": query})

    def push_update(self, update: dict[str, Any]) -> int:
        """An update as given (a contract fixture's), numbered in this stand-in's sequence."""
        return self._push({k: v for k, v in update.items() if k != "update_id"})

    def _push(self, body: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **body}
        for kind, value in body.items():
            if kind == "callback_query":
                self.queries.add(value["id"])
            chat = (value.get("message") or value).get("chat")
            if chat is not None:
                # As Telegram: once a chat wrote (or a member tapped), the bot may answer it.
                self.chats.setdefault(chat["id"], chat)
            if kind in ("message", "edited_message"):
                # A user's message is there to be deleted (the bot deletes pasted keys).
                self.messages[(chat["id"], value["message_id"])] = (value.get("text", ""), None)
        self.updates.append(update)
        self._new.set()
        if self.webhook is not None:
            # As Telegram does once a webhook is set: post the update there, with the secret.
            task = asyncio.get_running_loop().create_task(self._deliver(update))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return update_id

    async def _deliver(self, update: dict[str, Any]) -> None:
        url, secret = present(self.webhook, "the webhook the bot set")
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json=update, headers=headers) as answer,
        ):
            self.deliveries.append(answer.status)

    # -- what the bot calls -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        asked = request.match_info["method"]
        method = METHODS.get(asked.lower(), asked)
        params = await params_of(request)
        ours = request.match_info["token"] == self.token
        if ours and self.scripted.get(method):
            return self._scripted(method, params)
        flooding = method == "sendMessage" and ours
        waits = self.flood.get(params.get("chat_id", 0)) if flooding else None
        if waits:
            self.flooded.append(params.get("chat_id", 0))
            self.flooded_at.append(self.stamp())
            return too_many(waits.pop(0))
        try:
            self._check(request.match_info["token"], method, params)
        except Refusal as refusal:
            self.refused.append((method, params, refusal.description))
            refused = {"ok": False, "error_code": refusal.code, "description": refusal.description}
            return web.json_response(refused, status=refusal.code)
        if self.limits and method in COUNTED:
            chat = int(params.get("chat_id", 0))
            retry = self._flood_wait(chat)
            if retry is not None:
                self.limited.append((chat, retry))
                return too_many(retry)
        self.calls.append((method, params))
        said = ""
        if method == "setWebhook":
            hook = (params["url"], params.get("secret_token", ""))
            said = "Webhook is already set" if self.webhook == hook else "Webhook was set"
            self.webhook = hook
        elif method == "deleteWebhook":
            said = "Webhook was deleted" if self.webhook else "Webhook is already deleted"
            self.webhook = None
        if method in ("sendMessage", "editMessageText"):
            self.sent_at.append((self.stamp(), params.get("chat_id", 0)))
        if method in COUNTED:
            self._accept(int(params.get("chat_id", 0)))
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        elif method == "getMe":
            result = {**BOT_USER, **dict.fromkeys(GET_ME_FLAGS, False)}
        elif method in ("sendMessage", "editMessageText"):
            result = self._text_message_sent(method, params)
        elif method == "getChat":
            result = full_chat(self.chats[params["chat_id"]])
        elif method == "answerCallbackQuery":
            self.answers[params["callback_query_id"]] = params.get("text") or ""
            result = True
        elif method == "setMyCommands":
            scope = params.get("scope") or {"type": "default"}
            where = scope["type"] + (f":{scope['chat_id']}" if "chat_id" in scope else "")
            self.commands[where] = [c["command"] for c in params.get("commands", [])]
            result = True
        elif method in ("sendPhoto", "sendDocument"):
            where = self._chat_of(params.get("chat_id", 0))
            result = file_message(method, params, next(self._message_ids), where)
        elif method == "deleteMessage":
            del self.messages[(params["chat_id"], params["message_id"])]
            self.shown.pop((params["chat_id"], params["message_id"]), None)
            result = True
        else:  # setWebhook, deleteWebhook
            result = True
        body: dict[str, Any] = {"ok": True, "result": result}
        if said:
            body["description"] = said  # the Bot API server says what it did with the webhook
        return web.json_response(body)

    def _now_ms(self) -> int:
        return round(self.stamp() * 1000)

    def _flood_wait(self, chat: int) -> int | None:
        """Seconds Telegram asks a message to ``chat`` to wait now, or None when it may go."""
        return flood_wait(self.accepted, self.last_in_chat, chat, self._now_ms())

    def _accept(self, chat: int) -> None:
        now = self._now_ms()
        self.accepted.append((now, chat))
        self.last_in_chat[chat] = now

    def _scripted(self, method: str, params: dict[str, Any]) -> web.Response:
        fixture = self.scripted[method].pop(0)
        body = fixture["response"]
        if fixture["status"] == 200:
            self.calls.append((method, params))
        else:
            self.refused.append((method, params, body["description"]))
        headers = fixture.get("headers") or {}
        return web.json_response(body, status=fixture["status"], headers=headers)

    def _check(self, token: str, method: str, params: dict[str, Any]) -> None:
        """Raise the :class:`Refusal` Telegram answers a call with, if any."""
        if token != self.token:
            raise Refusal(401, "Unauthorized")
        if method not in METHODS.values():
            raise Refusal(404, "Not Found: method not found")
        if method == "getUpdates" and self.webhook is not None:
            raise Refusal(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if method in WRITES and params.get("chat_id") in self.blocked:
            raise Refusal(403, "Forbidden: bot was blocked by the user")
        check_call(method, params, self.chats, self.messages, self.answers, self.queries)

    def _chat_of(self, chat_id: int) -> dict[str, Any]:
        return self.chats.get(chat_id, {"id": chat_id, "type": "private"})

    def _text_message_sent(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id", 0)
        message_id = params.get("message_id") or next(self._message_ids)
        self._ids_of[id(params)] = message_id
        text = params.get("text", "")
        self.messages[(chat_id, message_id)] = (text, markup_of(params))
        html = str(params.get("parse_mode", "")).upper() == "HTML"
        shown, entities = render_html(text) if html else (text, [])
        result: dict[str, Any] = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": self._chat_of(chat_id),
            "date": 1_700_000_000,
        }
        if method == "editMessageText":
            result["edit_date"] = 1_700_000_060
        result["text"] = shown  # as Telegram shows it: the tags parsed into entities
        if entities:
            result["entities"] = entities
        if markup_of(params):
            result["reply_markup"] = markup_of(params)
        self.shown[(chat_id, message_id)] = result
        return result

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        # As Telegram: "an update is considered confirmed as soon as getUpdates is called with
        # an offset higher than its update_id", and a confirmed update is forgotten: a bot that
        # starts again with no offset gets only what was never confirmed.
        self._confirmed = max(self._confirmed, int(params.get("offset") or 0))
        offset = self._confirmed
        wait = min(float(params.get("timeout") or 0), 1.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            pending = [u for u in self.updates if u["update_id"] >= offset]
            left = deadline - loop.time()
            if pending or left <= 0:
                return pending
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=left)

    # -- reading what was sent ----------------------------------------------------------------

    def sent(self, uid: int) -> list[dict[str, Any]]:
        return [
            p
            for m, p in self.calls
            if m in ("sendMessage", "editMessageText") and p.get("chat_id") == uid
        ]

    def texts(self, uid: int) -> list[str]:
        return [p.get("text", "") for p in self.sent(uid)]

    def files(self, chat_id: int) -> list[tuple[str, str, bytes]]:
        """(method, file name, bytes) of every photo and document uploaded to ``chat_id``."""
        out = []
        for m, p in self.calls:
            if m in ("sendPhoto", "sendDocument") and p.get("chat_id") == chat_id:
                upload = p["photo" if m == "sendPhoto" else "document"]
                out.append((m, upload["filename"], upload["data"]))
        return out

    def button(self, uid: int, label: str) -> tuple[str, int]:
        """The callback data of the newest button ``label`` sent to ``uid`` and its message."""
        for m, p in reversed(self.calls):
            if m != "sendMessage" or p.get("chat_id") != uid:
                continue
            for row in (p.get("reply_markup") or {}).get("inline_keyboard", []):
                for b in row:
                    if b["text"] == label:
                        return b["callback_data"], self._message_id_of(p)
        raise AssertionError(f"no {label!r} button was sent to {uid}")

    def _message_id_of(self, params: dict[str, Any]) -> int:
        return self._ids_of[id(params)]

    def answer(self, update_id: int) -> str | None:
        """What the bot answered the tap pushed as ``update_id`` with (None: not answered)."""
        return self.answers.get(f"cq{update_id}")

    def refusals(self, method: str | None = None) -> list[str]:
        """Descriptions of the calls Telegram would have refused (of ``method``, or all)."""
        return [d for m, _, d in self.refused if method is None or m == method]
