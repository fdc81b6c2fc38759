"""The Bot API stand-in refuses what Telegram refuses (the bot's tests rely on it)."""

from __future__ import annotations

import pytest

from rampart_testkit.botapi.rules import Refusal, check_call, parse_html, render_html


def test_telegram_html_subset_is_parsed_and_everything_else_refused() -> None:
    assert parse_html("<b>bold</b> &lt;x&gt; &amp; 5 &lt; 6") == "bold <x> & 5 < 6"
    assert parse_html('<a href="https://t.me/x">link</a> <span class="tg-spoiler">s</span>') == (
        "link s"
    )
    assert parse_html("<pre><code>x</code></pre><blockquote>q</blockquote>") == "xq"
    for bad in ("<div>x</div>", "<b>open", "<b><i>x</b></i>", "5 < 6", "</b>", "<span>x</span>"):
        with pytest.raises(Refusal) as refused:
            parse_html(bad)
        assert refused.value.code == 400
        assert refused.value.description.startswith("Bad Request: can't parse entities")


def test_accepted_html_is_answered_with_the_entities_telegram_makes() -> None:
    shown, entities = render_html(
        '<b><i>Bought</i></b> 😀 <a href="https://t.me/x">here</a><b></b>'
        '<pre><code class="language-python">x = 1</code></pre><code class="language-x">y</code>'
    )
    assert shown == "Bought 😀 herex = 1y"
    # Offsets count UTF-16 units (the emoji is two); on one span the outer tag comes first;
    # an empty tag makes nothing; pre takes its code's language, a lone code has none.
    assert entities == [
        {"offset": 0, "length": 6, "type": "bold"},
        {"offset": 0, "length": 6, "type": "italic"},
        {"offset": 10, "length": 4, "type": "text_link", "url": "https://t.me/x"},
        {"offset": 14, "length": 5, "type": "pre", "language": "python"},
        {"offset": 19, "length": 1, "type": "code"},
    ]


def _refusal(method: str, params: dict, chats: dict, messages: dict | None = None) -> str:
    try:
        check_call(method, params, chats, messages or {}, {})
    except Refusal as refusal:
        return f"{refusal.code} {refusal.description}"
    return "ok"


def test_limits_chats_edits_and_buttons_are_refused_as_telegram_does() -> None:
    chats = {7: {"id": 7, "type": "private"}}
    send = {"chat_id": 7, "text": "x" * 4096, "parse_mode": "HTML"}
    assert _refusal("sendMessage", send, chats) == "ok"
    assert _refusal("sendMessage", {**send, "text": "<b>" + "x" * 4097 + "</b>"}, chats) == (
        "400 Bad Request: message is too long"
    )
    assert _refusal("sendMessage", {**send, "chat_id": 8}, chats) == (
        "403 Forbidden: bot can't initiate conversation with a user"
    )
    assert _refusal("getChat", {"chat_id": 8}, chats) == "400 Bad Request: chat not found"
    keyboard = {"inline_keyboard": [[{"text": "ok", "callback_data": "x" * 65}]]}
    assert _refusal("sendMessage", {**send, "reply_markup": keyboard}, chats) == (
        "400 Bad Request: BUTTON_DATA_INVALID"
    )
    shown = {(7, 5): ("same", None)}
    edit = {"chat_id": 7, "message_id": 5, "text": "same", "parse_mode": "HTML"}
    assert _refusal("editMessageText", edit, chats, shown).startswith(
        "400 Bad Request: message is not modified"
    )
    assert _refusal("editMessageText", {**edit, "text": "new"}, chats, shown) == "ok"
    assert _refusal("editMessageText", {**edit, "message_id": 6}, chats, shown) == (
        "400 Bad Request: message to edit not found"
    )
    scoped = {"commands": [{"command": "kill", "description": "k"}], "scope": {"chat_id": 8}}
    assert _refusal("setMyCommands", scoped, chats) == "400 Bad Request: chat not found"
