"""The facade's terms and telling: who accepted which version when, audited once;
only the version in effect can be accepted; a new ticket reaches the operator chat and an
answer reaches the investor as a notice, whichever front answered."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from rampart.clock import SimClock
from rampart.domain.errors import RampartError
from rampart.notices.investor_notices import InvestorNotice
from rampart.operator import terms as terms_doc
from rampart.operator.control import Operator
from rampart.operator.people import SUPPORT, PeopleActions
from rampart.store import terms as terms_store
from rampart.store.audit import AuditLog, record_safely
from rampart.store.models.people import terms_acceptances

T0 = 1_704_067_200_000


class Facade(PeopleActions):
    def __init__(self, db: sa.Engine) -> None:
        self._session = SimpleNamespace(db=db)  # type: ignore[assignment]
        self.business = SimClock(T0)

    async def audit(self, actor: str, action: str, target: str, **detail: object) -> None:
        # What the facade does without a store writer: write the entry directly.
        await record_safely(self._session.db, self.business.now_ms(), actor, action, target, detail)


def _rows(db: sa.Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(terms_acceptances).order_by("id")).all())


def _actions(db: sa.Engine) -> list[str]:
    return [e.action for e in AuditLog(db).tail(100)]


def test_the_operator_has_them() -> None:
    for name in ("terms_status", "accept_terms", "decline_terms", "tell_people"):
        assert callable(getattr(Operator, name))


def test_an_acceptance_is_kept_with_who_which_version_and_when_and_audited_once(
    db: sa.Engine,
) -> None:
    facade = Facade(db)
    assert not asyncio.run(facade.terms_status("tg-1")).current
    done = asyncio.run(facade.accept_terms("tg-1", "telegram:1", terms_doc.TERMS_VERSION))
    assert (done.version, done.actor, done.accepted_at) == (
        terms_doc.TERMS_VERSION,
        "telegram:1",
        T0,
    )
    facade.business.advance(60_000)
    # A second tap on the same button: the first acceptance stands, nothing more is written.
    again = asyncio.run(facade.accept_terms("tg-1", "telegram:1", terms_doc.TERMS_VERSION))
    assert again.accepted_at == T0
    assert [(r.account_id, r.version, r.actor, r.accepted_at) for r in _rows(db)] == [
        ("tg-1", terms_doc.TERMS_VERSION, "telegram:1", T0)
    ]
    assert _actions(db).count("operator.terms.accept") == 1
    status = asyncio.run(facade.terms_status("tg-1"))
    assert status.current and status.accepted == done
    assert not asyncio.run(facade.terms_status("tg-2")).current  # only their own


def test_a_new_version_asks_again_and_the_history_stays(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    facade = Facade(db)
    asyncio.run(facade.accept_terms("tg-1", "telegram:1", "1.0"))
    monkeypatch.setattr(terms_doc, "TERMS_VERSION", "1.1")
    status = asyncio.run(facade.terms_status("tg-1"))
    assert status.accepted is not None
    assert (status.version, status.current, status.accepted.version) == ("1.1", False, "1.0")
    # A button shown before the change offers 1.0: refused, nothing written.
    with pytest.raises(RampartError, match=r"version 1\.1 is in effect"):
        asyncio.run(facade.accept_terms("tg-1", "telegram:1", "1.0"))
    assert len(_rows(db)) == 1
    facade.business.advance(3_600_000)
    asyncio.run(facade.accept_terms("tg-1", "telegram:1", "1.1"))
    assert [a.version for a in terms_store.history(db, "tg-1")] == ["1.0", "1.1"]
    assert asyncio.run(facade.terms_status("tg-1")).current


def test_declining_accepts_nothing_and_is_audited(lite: sa.Engine) -> None:
    facade = Facade(lite)
    status = asyncio.run(facade.decline_terms("tg-1", "telegram:1", terms_doc.TERMS_VERSION))
    assert not status.current and status.accepted is None
    assert _rows(lite) == []
    (entry,) = [e for e in AuditLog(lite).tail(10) if e.action == "operator.terms.decline"]
    assert (entry.actor, entry.target) == ("telegram:1", "tg-1")


def test_a_ticket_is_posted_to_the_operator_chat_and_the_answer_told_to_the_investor(
    lite: sa.Engine,
) -> None:
    facade = Facade(lite)
    posted: list[str] = []
    notices: list[InvestorNotice] = []

    async def chat(html: str) -> bool:
        posted.append(html)
        return True

    facade.tell_people(notices.append, chat)
    ticket = asyncio.run(facade.open_ticket("tg-1", "My <stop> did not move", "critical"))
    (post,) = posted
    assert f"Support ticket #{ticket.id}" in post and "(critical)" in post
    assert "My &lt;stop&gt; did not move" in post and f"/answer {ticket.id}" in post
    assert notices == []  # nothing for the investor until someone answers
    facade.business.advance(600_000)
    asyncio.run(facade.answer_ticket(ticket.id, "panel:ops", "Moved it: 64,000."))
    (notice,) = notices
    assert (notice.account_id, notice.kind, notice.ts) == ("tg-1", SUPPORT, T0 + 600_000)
    assert f"#{ticket.id}" in notice.text and "Moved it: 64,000." in notice.text
    # A second answer is told too, under its own key.
    facade.business.advance(1_000)
    asyncio.run(facade.answer_ticket(ticket.id, "panel:ops", "And checked."))
    assert len({n.key for n in notices}) == 2


def test_a_chat_that_fails_loses_no_ticket(lite: sa.Engine) -> None:
    facade = Facade(lite)

    async def down(html: str) -> bool:
        raise ConnectionError("telegram is down")

    facade.tell_people(None, down)
    ticket = asyncio.run(facade.open_ticket("tg-1", "help"))
    assert asyncio.run(facade.tickets("open")) == [ticket]


def test_on_a_simulated_feed_an_acceptance_is_dated_when_the_investor_lived_it(
    db: sa.Engine,
) -> None:
    """The demo replays 2024-01-01: an acceptance is stored and shown at the wall time the
    feed's moment stands for, not the replay's date."""
    from rampart import clock as clock_mod
    from rampart.clock import FeedClock

    wall = SimClock(1_795_000_000_000)  # 2026-11-18
    feed = FeedClock(SimClock(T0), wall)
    feed._anchor()
    facade = Facade(db)
    clock_mod.show_times_of(feed)
    try:
        done = asyncio.run(facade.accept_terms("tg-1", "telegram:1", terms_doc.TERMS_VERSION))
    finally:
        clock_mod.show_times_of(None)
    assert done.accepted_at == wall.now_ms()
    assert [r.accepted_at for r in _rows(db)] == [wall.now_ms()]
