"""/feedback and /support as conversations: feedback is kept and counted in the
satisfaction figure, a malformed one refused in one sentence; a support ticket reaches the
operator chat, and the answer — from the bot's /answer or the panel's People page (the same
facade call) — reaches the investor as a notice through the outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from rampart.store.models.people import feedback, support_tickets
from tests.telegram.conftest import ALICE, BOB, OPERATOR, TgService
from tests.telegram.notices_support import NoticeService

ANSWER = "Answer to your support ticket"


def _feedback_rows(svc: TgService) -> list[tuple[str, int, str]]:
    with svc.session.db.connect() as conn:
        rows = conn.execute(sa.select(feedback).order_by(feedback.c.id)).all()
    return [(r.account_id, r.score, r.text) for r in rows]


def _tickets(svc: TgService) -> int:
    with svc.session.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(support_tickets)).scalar())


def test_feedback_is_kept_and_reported_and_malformed_feedback_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with TgService(tmp_path) as svc:
            await svc.register([ALICE])
            for typed, says in (
                (
                    "/feedback great service",
                    "Give a score from 1 (bad) to 5 (very good); got great.",
                ),
                ("/feedback 9 wow", "Give a score from 1 (bad) to 5 (very good); got 9."),
                ("/feedback 4.5", "Give a score from 1 (bad) to 5 (very good); got 4.5."),
            ):
                assert await svc.send(ALICE, typed) == [says]
            (usage,) = await svc.send(ALICE, "/feedback")
            assert "Usage: /feedback SCORE" in usage
            assert _feedback_rows(svc) == []

            (thanks,) = await svc.send(ALICE, "/feedback 5 Clear reports,\nquick fills")
            assert thanks.startswith("Thank you: your 5/5 is recorded.")
            assert _feedback_rows(svc) == [("tg-101", 5, "Clear reports,\nquick fills")]
            await svc.send(ALICE, "/feedback 2")
            await svc.trade(1)  # the figure counts what came before now
            figures = await svc.operator.people()
            assert (figures.satisfaction.responses, figures.satisfaction.satisfied) == (2, 1)

    asyncio.run(scenario())


def test_a_ticket_reaches_the_operator_chat_and_the_answer_reaches_the_investor(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with NoticeService(tmp_path) as svc:
            await svc.register([ALICE, BOB])
            (usage,) = await svc.send(ALICE, "/support")
            assert "Usage: /support" in usage
            assert await svc.send(ALICE, "/support critical") == [
                "Write the request: it cannot be empty."
            ]
            assert _tickets(svc) == 0

            before = len(svc.api.texts(OPERATOR))
            (opened,) = await svc.send(
                ALICE, "/support critical My stop-loss is gone\nETH fell 5 % <fast>"
            )
            assert opened.startswith("Ticket #1 opened (critical)") and "within 2 hours" in opened
            (ticket,) = await svc.operator.tickets("open")
            assert (ticket.account_id, ticket.priority) == ("tg-101", "critical")
            assert ticket.text == "My stop-loss is gone\nETH fell 5 % <fast>"
            await svc.until(lambda: len(svc.api.texts(OPERATOR)) > before)
            (posted,) = svc.api.texts(OPERATOR)[before:]
            assert "<b>Support ticket #1</b> (critical) from tg-101" in posted
            assert "ETH fell 5 % &lt;fast&gt;" in posted and "/answer 1" in posted

            # An investor cannot answer; the operator lists and answers from the chat.
            refused = await svc.send(BOB, "/answer 1 all fine")
            assert refused == ["That command is for operators only; this attempt was recorded."]
            assert "#1 critical · tg-101" in (await svc.send(OPERATOR, "/tickets"))[0]
            (done,) = await svc.send(OPERATOR, "/answer 1 Restored it at 2,950.\nSorry.")
            assert "Ticket #1 (tg-101) answered; it reaches the investor as a notice" in done
            (told,) = await svc.delivered(ALICE, ANSWER)
            assert "#1" in told and "Restored it at 2,950.\nSorry." in told
            assert svc.api.texts(BOB) == [refused[0]]  # nobody else is told
            assert (await svc.operator.tickets("answered"))[0].answered_by == (
                f"telegram-operator:{OPERATOR}"
            )

            # The panel's People page answers through the same facade call: told as well.
            (second,) = await svc.send(BOB, "/support Where is my weekly report?")
            assert second.startswith("Ticket #2 opened (general)") and "24 hours" in second
            await svc.operator.answer_ticket(2, "panel:ops", "It comes on Mondays.")
            (panel,) = await svc.delivered(BOB, ANSWER)
            assert "It comes on Mondays." in panel

    asyncio.run(scenario())
