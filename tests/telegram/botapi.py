"""A local Bot API stand-in: aiohttp.web on 127.0.0.1, answering what python-telegram-bot calls
and recording every call. Updates are queued by the test and served by long-polling
``getUpdates`` (a short timeout, so shutdown is quick), or, once the bot has called
``setWebhook``, posted to its webhook with the secret token, as Telegram does."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import aiohttp
from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Rampart", "username": "rampart_test_bot"}
INT_FIELDS = ("chat_id", "message_id", "offset", "timeout", "limit")


class FakeBotApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: list[dict[str, Any]] = []
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

    def _user(self, uid: int) -> dict[str, Any]:
        return {"id": uid, "is_bot": False, "first_name": f"user{uid}"}

    def push_text(self, uid: int, text: str) -> int:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": 1_700_000_000,
            "chat": {"id": uid, "type": "private"},
            "from": self._user(uid),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push({"message": message})

    def push_button(self, uid: int, data: str, message_id: int) -> int:
        query = {
            "id": f"cq{message_id}",
            "from": self._user(uid),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 1_700_000_000,
                "chat": {"id": uid, "type": "private"},
                "from": BOT_USER,
                "text": "…",
            },
        }
        return self._push({"callback_query": query})

    def _push(self, body: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **body}
        self.updates.append(update)
        self._new.set()
        if self.webhook is not None:
            # As Telegram does once a webhook is set: post the update there, with the secret.
            task = asyncio.get_running_loop().create_task(self._deliver(update))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return update_id

    async def _deliver(self, update: dict[str, Any]) -> None:
        assert self.webhook is not None
        url, secret = self.webhook
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json=update, headers=headers) as answer,
        ):
            self.deliveries.append(answer.status)

    # -- what the bot calls -------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            params = dict(await request.json())
        else:
            params = {}
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    # An upload (sendPhoto, sendDocument): keep its name and bytes.
                    value = {"filename": value.filename, "data": value.file.read()}
                params[key] = value
        for key in INT_FIELDS:
            if isinstance(params.get(key), str):
                params[key] = int(params[key])
        if isinstance(params.get("reply_markup"), str):
            params["reply_markup"] = json.loads(params["reply_markup"])
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        elif method == "getMe":
            result = {**BOT_USER, "can_join_groups": False, "can_read_all_group_messages": False}
        elif method in ("sendMessage", "editMessageText"):
            result = {
                "message_id": params.get("message_id") or next(self._message_ids),
                "date": 1_700_000_000,
                "chat": {"id": params.get("chat_id", 0), "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        elif method == "setWebhook":
            self.webhook = (params["url"], params.get("secret_token", ""))
            result = True
        elif method in ("sendPhoto", "sendDocument"):
            result = self._file_message(method, params)
        else:  # deleteWebhook, deleteMessage, answerCallbackQuery, setMyCommands…
            result = True
        return web.json_response({"ok": True, "result": result})

    def _file_message(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        upload = params.get("photo" if method == "sendPhoto" else "document") or {}
        size = len(upload.get("data", b""))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": 1_700_000_000,
            "chat": {"id": params.get("chat_id", 0), "type": "private"},
            "from": BOT_USER,
        }
        ids = {"file_id": f"f{size}", "file_unique_id": f"u{size}", "file_size": size}
        if method == "sendPhoto":
            message["photo"] = [{**ids, "width": 100, "height": 100}]
        else:
            message["document"] = {**ids, "file_name": upload.get("filename", "")}
        return message

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset") or 0
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
        return 1  # the bot edits by the id in the callback query; any id works here
