"""The facade's feedback and support methods (what the bot's /feedback and /support and the
panel call): kept on the business clock, audited, and bad input refused in one sentence with
nothing written."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import RampartError
from rampart.operator.control import Operator
from rampart.operator.people import PeopleActions
from rampart.store import support
from rampart.store.audit import AuditLog, record_safely
from rampart.store.models.people import feedback, support_tickets

T0 = 1_704_067_200_000


class Facade(PeopleActions):
    def __init__(self, db: sa.Engine) -> None:
        self._session = SimpleNamespace(db=db)  # type: ignore[assignment]
        self.business = SimClock(T0)

    async def audit(self, actor: str, action: str, target: str, **detail: object) -> None:
        # What the facade does without a store writer: write the entry directly.
        await record_safely(self._session.db, self.business.now_ms(), actor, action, target, detail)


def _count(db: sa.Engine, table: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_operator_has_them() -> None:
    for name in ("record_feedback", "open_ticket", "answer_ticket"):
        assert callable(getattr(Operator, name))


def test_feedback_is_kept_with_its_score_and_words(lite: sa.Engine) -> None:
    facade = Facade(lite)
    done = asyncio.run(facade.record_feedback("tg-1", "5", "  Clear reports.  "))
    assert (done.score, done.message) == (5, "Thank you: your 5/5 is recorded.")
    with lite.connect() as conn:
        row = conn.execute(sa.select(feedback)).one()
    assert (row.account_id, row.score, row.text, row.ts) == ("tg-1", 5, "Clear reports.", T0)


@pytest.mark.parametrize(
    ("score", "text", "says"),
    [
        ("0", "", r"from 1 \(bad\) to 5"),
        ("6", "", r"from 1 \(bad\) to 5"),
        ("five", "", "got five"),
        (None, "", "got nothing"),
        (True, "", r"from 1 \(bad\) to 5"),
        ("4", "x" * 2001, "keep it under 2,000"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_kept(
    lite: sa.Engine, score: Any, text: str, says: str
) -> None:
    with pytest.raises(RampartError, match=says):
        asyncio.run(Facade(lite).record_feedback("tg-1", score, text))
    assert _count(lite, feedback) == 0


def test_a_ticket_opens_on_the_business_clock_and_is_answered_once(db: sa.Engine) -> None:
    facade = Facade(db)
    ticket = asyncio.run(facade.open_ticket("tg-1", "I cannot pause", "urgent"))
    assert (ticket.priority, ticket.status, ticket.opened_at) == ("critical", "open", T0)
    facade.business.advance(600_000)
    answered = asyncio.run(facade.answer_ticket(f"#{ticket.id}", "ops", "Paused for you."))
    assert (answered.status, answered.answered_at, answered.answered_by) == (
        "answered",
        T0 + 600_000,
        "ops",
    )
    facade.business.advance(600_000)
    again = asyncio.run(facade.answer_ticket(ticket.id, "lead", "And resumed."))
    # The SLA clock stopped at the first answer; the newest answer is kept.
    assert (again.answered_at, again.answered_by, again.answer) == (
        T0 + 600_000,
        "ops",
        "And resumed.",
    )
    actions = [e.action for e in AuditLog(db).tail()]
    assert actions.count("operator.support.open") == 1
    assert actions.count("operator.support.answer") == 2


@pytest.mark.parametrize(
    ("text", "priority", "says"),
    [
        ("", None, "cannot be empty"),
        ("   ", "general", "cannot be empty"),
        ("help", "asap", "critical or general"),
        ("x" * 4001, None, "keep it under 4,000"),
    ],
)
def test_a_bad_ticket_is_refused(
    lite: sa.Engine, text: str, priority: str | None, says: str
) -> None:
    with pytest.raises(RampartError, match=says):
        asyncio.run(Facade(lite).open_ticket("tg-1", text, priority))
    assert _count(lite, support_tickets) == 0


def test_answering_a_ticket_that_is_not_there(lite: sa.Engine) -> None:
    facade = Facade(lite)
    with pytest.raises(support.UnknownTicket, match="no support ticket #7"):
        asyncio.run(facade.answer_ticket(7, "ops", "hello"))
    with pytest.raises(RampartError, match="whole number like 12"):
        asyncio.run(facade.answer_ticket("seven", "ops", "hello"))
    ticket = asyncio.run(facade.open_ticket("tg-1", "help"))
    with pytest.raises(RampartError, match="Say who answers"):
        asyncio.run(facade.answer_ticket(ticket.id, " ", "hello"))
    assert support.get_ticket(lite, ticket.id).status == "open"  # type: ignore[union-attr]
