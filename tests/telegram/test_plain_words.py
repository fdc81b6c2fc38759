"""Plain words for investors, as conversations with the bot on the Bot API stand-in:

- a key, secret or recovery phrase pasted with no /connect waiting was left in the chat; it is
  deleted first, and the answer says why and what to do;
- /stop answered with the whole 1,900-character help; it points to /pause in two sentences,
  and any unknown command gets a line or two, never the whole list;
- the I accept of a /start message from before the terms were asked there said "Next:
  /connect paper", where /connect then asked for the terms; it shows the terms in effect.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rampart.operator import investors as inv_store
from rampart.telegram.keycheck import looks_like_secret
from tests.telegram.conftest import ALICE, BOB, TgService
from tests.telegram.test_connect_keys import API_KEY, _message_id

PHRASE = " ".join(["legal", "winner", "thank", "year", "wave", "sausage"] * 2)
"""Twelve lower-case words: the shape of a recovery phrase."""
SOLANA_KEY = "4" + "Z" * 87
"""88 base58 characters: the shape of a Solana private key."""


def test_a_key_pasted_with_nothing_waiting_is_deleted_with_a_word_why(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(ALICE, "/start")
            for pasted in (API_KEY, SOLANA_KEY, PHRASE):
                mark = len(svc.api.calls)
                update_id = svc.api.push_text(ALICE, pasted)
                message_id = _message_id(svc, update_id)
                await svc.until(lambda u=update_id: svc.bot.processed >= u)
                mine = [(m, p) for m, p in svc.api.calls[mark:] if p.get("chat_id") == ALICE]
                assert mine[0] == ("deleteMessage", {"chat_id": ALICE, "message_id": message_id})
                assert (ALICE, message_id) not in svc.api.messages
                [answer] = [p["text"] for m, p in mine if m == "sendMessage"]
                assert "I deleted your message" in answer and "/connect" in answer, answer
            said = repr(svc.api.calls) + svc.log_path.read_text()
            assert API_KEY not in said and SOLANA_KEY not in said and PHRASE not in said
            # Ordinary words stay, with the short answer they had.
            mark = len(svc.api.calls)
            reply = await svc.send(ALICE, "hello, how is my account doing?")
            assert reply == ["Send a command; /help lists them."], reply
            assert not [m for m, _ in svc.api.calls[mark:] if m == "deleteMessage"]

    asyncio.run(scenario())


def test_stop_points_to_pause_and_unknown_commands_are_short(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(ALICE, "/start")
            [stop] = await svc.send(ALICE, "/stop")
            assert "/pause" in stop and "/resume" in stop, stop
            assert len(stop) < 300 and "<b>Commands</b>" not in stop, stop
            [typo] = await svc.send(ALICE, "/portfolo")
            assert "Did you mean /portfolio" in typo and len(typo) < 300, typo
            [odd] = await svc.send(ALICE, "/xyzzy")
            assert odd == "I don't know /xyzzy. /help lists every command.", odd

    asyncio.run(scenario())


def test_an_old_disclaimer_button_leads_to_the_terms_not_to_connect(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.send(ALICE, "/start")
            _, start_id = svc.api.button(ALICE, "I accept")
            # A message from before the terms were asked on /start carried this button.
            before = len(svc.api.texts(ALICE))
            svc.api.push_button(ALICE, "disclaimer:accept", start_id)
            target = len(svc.api.updates)
            await svc.until(lambda: svc.bot.processed >= target)
            told = svc.api.texts(ALICE)[before:]
            assert "Next: /connect paper" not in " ".join(told), told
            assert any("One more step: the terms" in t for t in told), told
            assert any(
                "Before you connect an account or invest, accept the terms" in t for t in told
            )
            inv = await inv_store.load(svc.session.db, ALICE)
            assert inv is not None and inv.accepted_disclaimer
            # Its I accept opens /connect at once.
            await svc.press(ALICE, "I accept")
            assert "Paper account connected" in (await svc.send(ALICE, "/connect paper"))[0]
            # Tapped again by someone set up: the next step that works for them.
            await svc.send(BOB, "/start")
            _, bob_start = svc.api.button(BOB, "I accept")
            await svc.press(BOB, "I accept")
            before = len(svc.api.texts(BOB))
            svc.api.push_button(BOB, "disclaimer:accept", bob_start)
            target = len(svc.api.updates)
            await svc.until(lambda: svc.bot.processed >= target)
            told = svc.api.texts(BOB)[before:]
            assert (
                told and "Disclaimer accepted. Next: /connect paper (or an exchange key" in told[-1]
            )

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (API_KEY, True),
        (SOLANA_KEY, True),
        (PHRASE, True),
        ("[" + ", ".join(["17"] * 64) + "]", True),
        ("hello, how is my account doing?", False),
        ("please tell me how my account is doing today thanks a lot ok", False),
        ("rp-1a2b3c4d-1700000000000-e", False),  # one of Rampart's own ids
        ("BTC/USDT", False),
        ("", False),
    ],
)
def test_what_is_taken_for_a_secret(text: str, secret: bool) -> None:
    assert looks_like_secret(text) is secret
