"""The Messenger port on the bot: an account's investor and the operator chat receive what
rollout and reports send, long text in pieces under Telegram's limit, charts as photos and
other files as documents; nobody else receives anything."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rampart.runtime.messaging import Messenger
from rampart.telegram.messenger import LIMIT, split_text
from rampart_testkit.botapi.rules import _utf16, parse_html
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TgService

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_split_text_keeps_lines_whole_and_under_the_limit() -> None:
    lines = [f"<b>line {i}</b> " + "x" * 90 for i in range(200)]
    pieces = split_text("\n".join(lines))
    # Measured on what Telegram shows: the tags count nothing.
    assert len(pieces) > 1 and all(_utf16(parse_html(p)) <= LIMIT for p in pieces)
    assert "\n".join(pieces) == "\n".join(lines)
    assert all(p.count("<b>") == p.count("</b>") for p in pieces)
    long = split_text("y" * (2 * LIMIT + 5))
    assert [len(p) for p in long] == [LIMIT, LIMIT, 5]
    assert split_text("short") == ["short"]


def test_tell_account_reaches_only_its_investor(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.onboard(ALICE, "moderate", "300")
            await svc.onboard(BOB, "moderate", "400")
            messenger: Messenger = svc.bot
            before_bob = len(svc.api.texts(BOB))
            assert await messenger.tell_account("tg-101", "Stage <b>limited</b> reached.")
            assert svc.api.texts(ALICE)[-1] == "Stage <b>limited</b> reached."
            assert len(svc.api.texts(BOB)) == before_bob
            sent = svc.api.sent(ALICE)[-1]
            assert sent["parse_mode"] == "HTML"
            assert not await messenger.tell_account("acct-nobody", "hello")
            assert not await messenger.tell_account("tg-999", "hello")

    asyncio.run(scenario())


def test_tell_operators_sends_text_in_pieces_then_photos_and_documents(tmp_path: Path) -> None:
    chart = tmp_path / "equity.png"
    chart.write_bytes(PNG)
    table = tmp_path / "trades.csv"
    table.write_text("symbol,pnl\nBTC/USDT,12.50\n")

    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            report = "\n".join(f"<b>day {i}</b>: +{i}.00 USDT " + "·" * 80 for i in range(120))
            assert await svc.bot.tell_operators(report, [chart, table])
            texts = svc.api.texts(OPERATOR)
            assert len(texts) >= 3 and all(_utf16(parse_html(t)) <= LIMIT for t in texts)
            assert "\n".join(texts) == report
            assert svc.api.files(OPERATOR) == [
                ("sendPhoto", "equity.png", PNG),
                ("sendDocument", "trades.csv", b"symbol,pnl\nBTC/USDT,12.50\n"),
            ]
            # The text goes first, then the files, in order.
            order = [m for m, p in svc.api.calls if p.get("chat_id") == OPERATOR]
            assert order.index("sendPhoto") > max(
                i for i, m in enumerate(order) if m == "sendMessage"
            )
            # A file that is not there: False, and nothing raised.
            assert not await svc.bot.tell_operators("x", [tmp_path / "missing.png"])
            svc.bot.settings.telegram.operator_chat_id = None
            assert not await svc.bot.tell_operators("nobody listens")

    asyncio.run(scenario())


def test_the_service_tells_through_its_bot(tmp_path: Path) -> None:
    from rich.console import Console

    from rampart.config import load_settings
    from rampart.wiring.service import Service
    from tests.telegram.conftest import TOKEN

    async def scenario() -> None:
        settings = load_settings(
            store={"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
            api={"enabled": False},
            telegram_token=TOKEN,
            telegram={"api_url": "http://127.0.0.1:9", "operator_chat_id": OPERATOR},
        )
        console = Console(file=(tmp_path / "out.txt").open("w"))
        service = Service(settings, console, view=False, install_signals=False)
        try:
            await service.open()
            assert service.bot is not None and service.messenger is service.bot
        finally:
            service.close()

    asyncio.run(scenario())


def test_split_counts_utf16_units_and_never_cuts_an_entity_or_a_tag() -> None:
    """An operator's copy of a support ticket: one long line of emoji and escaped text inside
    a tag (cut by characters it was refused: too long, or "can't parse entities")."""
    from rampart_testkit.botapi.rules import MAX_TEXT, _utf16, parse_html

    ticket = "<b>Ticket</b>\n<i>" + "Tom &amp; Jerry 😀😀 " * 400 + "</i>"
    pieces = split_text(ticket)
    assert len(pieces) > 1
    for piece in pieces:
        shown = parse_html(piece)  # raises as Telegram refuses, on a cut tag or entity
        assert _utf16(shown) <= MAX_TEXT
    assert "".join(parse_html(p) for p in pieces).count("Tom & Jerry") == 400
