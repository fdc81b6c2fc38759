"""What the Bot API stand-in (:mod:`rampart_testkit.botapi.standin`) answers with: its token, the
methods it serves, and Telegram's shapes of a user, a chat, a getChat answer and a sent file,
and a call's parameters as Telegram reads them (JSON, a query string or a multipart form)."""

from __future__ import annotations

import json
import mimetypes
from typing import Any

from aiohttp import web

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"  # noqa: S105 - the stand-in's made-up token
"""The bot's token: a request with any other is answered 401, as Telegram answers it."""
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Rampart", "username": "rampart_test_bot"}
GET_ME_FLAGS = (
    "can_join_groups",
    "can_read_all_group_messages",
    "supports_inline_queries",
    "supports_guest_queries",
    "can_connect_to_business",
    "has_main_web_app",
    "has_topics_enabled",
    "allows_users_to_create_topics",
    "can_manage_bots",
    "supports_join_request_queries",
)
"""The User fields the Bot API documents as "Returned only in getMe"."""
INT_FIELDS = ("chat_id", "message_id", "offset", "timeout", "limit")
METHODS = {
    m.lower(): m
    for m in (
        "getMe",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getChat",
        "sendMessage",
        "editMessageText",
        "answerCallbackQuery",
        "deleteMessage",
        "sendPhoto",
        "sendDocument",
        "setMyCommands",
    )
}
"""What the stand-in serves (Telegram reads method names case-insensitively)."""
WRITES = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText")
MESSAGES = ("sendMessage", "sendPhoto", "sendDocument")
COUNTED = (*MESSAGES, "editMessageText")
"""What the flood limits count here: messages and edits (Telegram does not document edits free)."""
GIFTS = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)
"""AcceptedGiftTypes, which every getChat answer carries (Bot API 9.0 on)."""


def user_of(uid: int) -> dict[str, Any]:
    return {"id": uid, "is_bot": False, "first_name": f"user{uid}", "language_code": "en"}


def chat_of(uid: int, chat: int | None) -> dict[str, Any]:
    if chat is None or chat == uid:
        return {"id": uid, "type": "private", "first_name": f"user{uid}"}
    return {"id": chat, "type": "supergroup", "title": f"group{-chat}"}


def user_message(message_id: int, uid: int, text: str, chat: int | None) -> dict[str, Any]:
    """The Message ``uid`` writes ``text`` in (private, or the group ``chat``)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": chat_of(uid, chat),
        "from": user_of(uid),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return message


async def params_of(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        params = dict(await request.json())
    else:
        params = dict[str, Any](request.query)  # Telegram takes a GET's parameters too
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                # An upload (sendPhoto, sendDocument): keep its name and bytes.
                params[key] = {"filename": value.filename, "data": value.file.read()}
            else:
                params[key] = value
    for key in INT_FIELDS:
        if isinstance(params.get(key), str):
            params[key] = int(params[key])
    for key in ("reply_markup", "commands", "scope"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


def full_chat(chat: dict[str, Any]) -> dict[str, Any]:
    """A ChatFullInfo: the chat plus the fields getChat always carries."""
    private = chat["type"] == "private"
    gifts = dict.fromkeys(GIFTS, private)
    return {
        **chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": gifts,
    }


def file_message(
    method: str, params: dict[str, Any], message_id: int, chat: dict[str, Any]
) -> dict[str, Any]:
    """The Message a sendPhoto or sendDocument of ``params`` is answered with."""
    upload = params.get("photo" if method == "sendPhoto" else "document") or {}
    size = len(upload.get("data", b""))
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": BOT_USER,
        "chat": chat,
        "date": 1_700_000_000,
    }
    ids = {"file_id": f"f{size}", "file_unique_id": f"u{size}", "file_size": size}
    if method == "sendPhoto":
        message["photo"] = [{**ids, "width": 100, "height": 100}]
    else:
        name = upload.get("filename", "")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        message["document"] = {"file_name": name, "mime_type": kind, **ids}
    return message
