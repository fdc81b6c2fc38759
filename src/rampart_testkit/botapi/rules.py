"""What Telegram's Bot API refuses, for the stand-in (:mod:`rampart_testkit.botapi.standin`).

Each rule answers as Telegram does, with its HTTP status and the start of its description, so
python-telegram-bot raises the same ``BadRequest`` / ``Forbidden`` the bot meets in production:

- ``parse_mode=HTML`` text must use Telegram's subset (b, strong, i, em, u, ins, s, strike, del,
  a href, code, pre, tg-spoiler, span class="tg-spoiler", blockquote, tg-emoji), every tag
  closed in order, ``<`` only as a tag: else 400 "can't parse entities";
- a message is at most 4,096 UTF-16 code units once its entities are parsed: else 400 "message is
  too long";
- a private chat that never wrote to the bot: 403 "bot can't initiate conversation with a
  user"; an unknown group: 400 "chat not found"; ``getChat`` likewise 400 "chat not found";
- ``editMessageText`` to the text and markup a message already has: 400 "message is not
  modified"; of a message that does not exist: 400 "message to edit not found";
- ``deleteMessage`` of a message that is not there (never was, or already deleted): 400
  "message to delete not found";
- callback data is 1 to 64 bytes: else 400 BUTTON_DATA_INVALID;
- a callback query is answered at most once, and only one that was sent;
- ``setMyCommands``: names of 1–32 lowercase letters, digits and underscores, descriptions of
  1–256 characters, at most 100 commands, a chat scope only for a known chat.

The words are the Bot API server's (see ``tests/contracts/telegram``). :func:`render_html` also
gives what Telegram answers for accepted HTML: the text as shown and the entities its tags make
(Telegram also finds commands, links, mentions and tags in plain text; this does not).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection
from html import unescape
from typing import Any

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
ALLOWED = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
ENTITIES = {"lt", "gt", "amp", "quot"}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*)?)\s*>")
_ATTR = re.compile(r"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);")
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")


class Refusal(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _bad(why: str) -> Refusal:
    return Refusal(400, f"Bad Request: {why}")


def _cant_parse(why: str, at: int) -> Refusal:
    return _bad(f"can't parse entities: {why} at byte offset {at}")


KIND = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
"""The MessageEntity type each tag makes (https://core.telegram.org/bots/api#messageentity)."""


def _utf16(text: str) -> int:
    # Entity offsets and lengths count UTF-16 code units, as Telegram documents.
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The visible text of Telegram HTML, or a :class:`Refusal` as Telegram words it."""
    return render_html(text)[0]


def _entity(name: str, attrs: dict[str, str], start: int, end: int) -> dict[str, Any]:
    entity: dict[str, Any] = {"offset": start, "length": end - start, "type": KIND[name]}
    if name == "a":
        entity["url"] = attrs["href"]
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif name == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"].removeprefix("language-")
    return entity


def render_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text Telegram shows for ``text`` and its entities, or a :class:`Refusal`."""
    shown: list[str] = []
    open_tags: list[str] = []
    opened: list[tuple[dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise _cant_parse("Unsupported start tag", i)
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if closing:
                if not open_tags or open_tags[-1] != name:
                    raise _cant_parse(f'Unmatched end tag "{name}"', i)
                open_tags.pop()
                attrs_of, start = opened.pop()
                end = _utf16("".join(shown))
                if end > start:  # an empty tag makes no entity
                    entities.append(_entity(name, attrs_of, start, end))
            else:
                if name not in ALLOWED:
                    raise _cant_parse(f'Unsupported start tag "{name}"', i)
                found = {
                    m.group(1): next(g for g in m.groups()[1:] if g is not None)
                    for m in _ATTR.finditer(attrs)
                }
                if name == "span" and found.get("class") != "tg-spoiler":
                    raise _cant_parse('Tag "span" must have class "tg-spoiler"', i)
                if name == "a" and not found.get("href"):
                    raise _cant_parse('Tag "a" must have an href', i)
                open_tags.append(name)
                attrs_text = {"expandable": ""} if re.search(r"\bexpandable\b", attrs) else {}
                opened.append(({**attrs_text, **found}, _utf16("".join(shown))))
            i = match.end()
        elif ch == ">":
            raise _cant_parse('Character ">" is reserved', i)
        elif ch == "&":
            match = _ENTITY.match(text, i)
            if match is not None and (match.group(1).startswith("#") or match.group(1) in ENTITIES):
                shown.append(unescape(match.group(0)))
                i = match.end()
            else:
                # Telegram keeps an "&" that starts no entity it knows as it is.
                shown.append("&")
                i += 1
        else:
            shown.append(ch)
            i += 1
    if open_tags:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"', 0)
    return "".join(shown), _nested(entities)


def _nested(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Telegram's order (by offset, the longer first); ``<pre><code class="language-x">`` is
    one pre entity with its language."""
    # Entities are listed as their tags close, the inner first: on the same span, outer first.
    order = sorted(enumerate(entities), key=lambda p: (p[1]["offset"], -p[1]["length"], -p[0]))
    out = [e for _, e in order]
    for pre, code in itertools.pairwise(out):
        same = (pre["offset"], pre["length"]) == (code["offset"], code["length"])
        if same and (pre["type"], code["type"]) == ("pre", "code"):
            if "language" in code:
                pre["language"] = code["language"]
            code["type"] = "drop"
    for entity in out:
        if entity["type"] == "code":
            entity.pop("language", None)  # a language counts only inside pre
    return [e for e in out if e["type"] != "drop"]


def markup_of(params: dict[str, Any]) -> Any:
    return params.get("reply_markup") or None


def _check_text(params: dict[str, Any]) -> None:
    text = params.get("text", "")
    shown = parse_html(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text
    if not shown.strip():
        raise _bad("message text is empty")
    if _utf16(shown) > MAX_TEXT:
        # Telegram counts UTF-16 code units: an emoji outside the BMP is two.
        raise _bad("message is too long")


def _check_buttons(params: dict[str, Any]) -> None:
    for row in (markup_of(params) or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")


def _check_chat(chat_id: Any, chats: dict[int, Any]) -> None:
    if chat_id in chats:
        return
    if isinstance(chat_id, int) and chat_id > 0:
        raise Refusal(403, "Forbidden: bot can't initiate conversation with a user")
    raise _bad("chat not found")


def _check_commands(params: dict[str, Any], chats: dict[int, Any]) -> None:
    commands = params.get("commands") or []
    if len(commands) > 100:
        raise _bad("BOT_COMMANDS_TOO_MUCH")
    for c in commands:
        if not _COMMAND.match(c.get("command", "")):
            raise _bad("BOT_COMMAND_INVALID")
        description = c.get("description", "").strip()
        if not description:
            raise _bad("command description must be non-empty")
        if len(description) > 256:
            raise _bad("command description length must not exceed 256")
    scope = params.get("scope") or {}
    if "chat_id" in scope and scope["chat_id"] not in chats:
        raise _bad("chat not found")


def check_call(
    method: str,
    params: dict[str, Any],
    chats: dict[int, Any],
    messages: dict[tuple[int, int], tuple[str, Any]],
    answers: dict[str, str],
    queries: Collection[str] | None = None,
) -> None:
    """Raise the :class:`Refusal` Telegram would answer ``method`` with, if any (``queries``:
    the callback queries sent to the bot, when known)."""
    if method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
        _check_chat(params.get("chat_id"), chats)
    if method in ("sendMessage", "editMessageText"):
        _check_text(params)
        _check_buttons(params)
    if method == "editMessageText":
        current = messages.get((params.get("chat_id", 0), params.get("message_id", 0)))
        if current is None:
            raise _bad("message to edit not found")
        if current == (params.get("text", ""), markup_of(params)):
            raise _bad(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
    elif method == "getChat":
        if params.get("chat_id") not in chats:
            raise _bad("chat not found")
    elif method == "deleteMessage":
        if (params.get("chat_id", 0), params.get("message_id", 0)) not in messages:
            raise _bad("message to delete not found")
    elif method == "answerCallbackQuery":
        query = params.get("callback_query_id")
        if query in answers or (queries is not None and query not in queries):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
    elif method == "setMyCommands":
        _check_commands(params, chats)
