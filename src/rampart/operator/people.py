"""What the facade does for people: the terms an investor accepts, feedback, support
tickets, the people figures.

The bot's terms buttons, ``/feedback``, ``/support`` and the operator's answer (from the bot or
the panel) all come through here, so what is checked, recorded and told is the same from every
front. Bad input gets one sentence and writes nothing.

Telling people is the facade's too: a new ticket is posted to the operator chat, and an answer
reaches the investor as a notice through the durable outbox, whichever front answered. The
composition root hands over both ways of telling (:meth:`PeopleActions.tell_people`); a service
without a bot has neither, and tickets are then only kept (and counted against their SLA).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import structlog

from rampart.clock import shown_ms
from rampart.domain.errors import RampartError
from rampart.notices.investor_notices import InvestorNotice
from rampart.operator import terms as terms_doc
from rampart.store import support
from rampart.store import terms as terms_store
from rampart.store.audit import FACADE
from rampart.store.people import PeopleFigures, operator_ids, people_figures
from rampart.store.support import PRIORITIES, Ticket
from rampart.store.terms import Acceptance

if TYPE_CHECKING:
    from rampart.clock import Clock
    from rampart.operator.session import Session

log = structlog.get_logger("rampart.operator.people")

NoticeSink = Callable[[InvestorNotice], None]
"""The outbox's ``put``: an investor notice, queued (memory only; the outbox saves and sends)."""
OperatorChat = Callable[[str], Awaitable[bool]]
"""Telegram-HTML text to the operator chat; False when it did not arrive."""
SUPPORT = "support"
"""The kind of the notice carrying an answer. Not one of ``/notify``'s kinds, so it cannot be
turned off: the investor asked for it."""

MAX_FEEDBACK = 2000
MAX_TICKET = 4000
PRIORITY_WORDS = {
    "critical": support.CRITICAL,
    "urgent": support.CRITICAL,
    "general": support.GENERAL,
    "normal": support.GENERAL,
}


@dataclass(frozen=True, slots=True)
class TermsStatus:
    """Where an investor stands with the terms: the version in effect and their newest
    acceptance (of any version)."""

    version: str
    accepted: Acceptance | None

    @property
    def current(self) -> bool:
        """Whether they accepted the version in effect."""
        return self.accepted is not None and self.accepted.version == self.version


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    id: int
    account_id: str
    score: int
    message: str


def parse_score(value: object) -> int:
    """A survey score, 1 to 5, refusing anything else in one sentence."""
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 5:
        raise RampartError(f"Give a score from 1 (bad) to 5 (very good); got {text or 'nothing'}.")
    return int(text)


def _text(value: str | None, limit: int, what: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise RampartError(f"Write the {what}: it cannot be empty.")
    if len(text) > limit:
        raise RampartError(f"The {what} is {len(text):,} characters; keep it under {limit:,}.")
    return text


def parse_priority(value: str | None) -> str:
    word = (value or "general").strip().lower()
    found = PRIORITY_WORDS.get(word)
    if found is None:
        raise RampartError(f"A ticket is critical or general; {value!r} is neither.")
    return found


class PeopleActions:
    """Mixed into :class:`rampart.operator.control.Operator` (which has the session and the
    audit log); kept here so the operator's trading commands stay in their own module."""

    _session: Session
    business: Clock
    investor_notices: NoticeSink | None = None
    operator_chat: OperatorChat | None = None

    def tell_people(self, notices: NoticeSink | None, operators: OperatorChat | None) -> None:
        """How tickets and answers are told: ``notices`` queues a notice for an investor (the
        outbox), ``operators`` writes to the operator chat (the bot)."""
        self.investor_notices = notices
        self.operator_chat = operators

    audit: Callable[..., Awaitable[None]]

    async def _record(self, actor: str, action: str, target: str, **detail: object) -> None:
        # One of the facade's numbered entries (``operator.terms.accept`` …), through the
        # store's buffered writer: a store that is down delays it rather than losing it.
        await self.audit(actor, FACADE + action, target, **detail)

    def _now(self) -> int:
        return self.business.now_ms()

    def _db(self) -> Any:
        db = getattr(self._session, "db", None)
        if db is None:
            raise RampartError("This needs the database, and the service has none open.")
        return db

    # -- terms ----------------------------------------------------------------------------------

    async def terms_status(self, account_id: str) -> TermsStatus:
        """The version in effect and what ``account_id`` accepted last."""
        found = await asyncio.to_thread(terms_store.latest, self._db(), account_id)
        return TermsStatus(terms_doc.TERMS_VERSION, found)

    def _check_version(self, version: object) -> str:
        current = terms_doc.TERMS_VERSION
        shown = str(version).strip()
        if shown != current:
            raise RampartError(
                f"Those were the terms of version {shown[:16] or '(none)'}; version {current} is "
                "in effect now: read it and accept that one."
            )
        return current

    async def accept_terms(self, account_id: str, actor: str, version: object) -> Acceptance:
        """Record that ``actor`` accepted the terms ``version`` for ``account_id``: only the
        version in effect (a button shown before a change offers the old one). Accepting the
        same version again changes nothing and is not audited again."""
        current = self._check_version(version)
        # A person's agreement is dated when they lived it: on a simulated feed the wall time
        # the feed's moment stands for (not the replay's 2024-01-01), else business time.
        db, now = self._db(), shown_ms(self._now())
        found, new = await asyncio.to_thread(
            terms_store.accept, db, account_id, current, actor, now
        )
        if new:
            await self._record(actor, "terms.accept", account_id, version=current)
        return found

    async def decline_terms(self, account_id: str, actor: str, version: object) -> TermsStatus:
        """``actor`` declined the terms ``version``: nothing is accepted, the refusal is audited
        (an earlier version they accepted stays on record as what they agreed to then)."""
        current = self._check_version(version)
        await self._record(actor, "terms.decline", account_id, version=current)
        return await self.terms_status(account_id)

    # -- telling ----------------------------------------------------------------------------------

    async def _tell_operators(self, html: str) -> bool:
        chat = self.operator_chat
        if chat is None:
            return False
        try:
            return await chat(html)
        except Exception as exc:  # a ticket is kept (and its SLA runs) whether the chat hears
            log.warning("support_ticket_not_posted", error=type(exc).__name__)
            return False

    def _tell_investor(self, ticket: Ticket) -> bool:
        sink = self.investor_notices
        if sink is None or ticket.answer is None:
            return False
        now = self._now()
        text = (
            f"💬 <b>Answer to your support ticket #{ticket.id}</b>\n{escape(ticket.answer)}\n"
            "<i>Your request:</i> " + escape(_excerpt(ticket.text)) + "\n"
            "/support writes to us again."
        )
        # One notice per answer: a later answer to the same ticket is told too.
        key = f"{SUPPORT}|{ticket.id}|{now}"
        sink(InvestorNotice(key, ticket.account_id, SUPPORT, text, now))
        return True

    # -- feedback and support ------------------------------------------------------------------

    async def record_feedback(
        self, account_id: str, score: object, text: str | None = None
    ) -> FeedbackResult:
        """Keep an investor's survey answer: ``score`` 1–5 and what they wrote (optional)."""
        value = parse_score(score)
        words = _text(text, MAX_FEEDBACK, "feedback", required=False)
        db, now = self._db(), self._now()
        feedback_id = await asyncio.to_thread(
            support.add_feedback, db, account_id, value, words, now
        )
        return FeedbackResult(
            feedback_id, account_id, value, f"Thank you: your {value}/5 is recorded."
        )

    async def open_ticket(
        self, account_id: str, text: str | None, priority: str | None = None
    ) -> Ticket:
        """Open a support ticket for ``account_id``; the SLA clock starts now."""
        level = parse_priority(priority)
        words = _text(text, MAX_TICKET, "request", required=True)
        db, now = self._db(), self._now()
        ticket = await asyncio.to_thread(support.add_ticket, db, account_id, level, words, now)
        await self._record(account_id, "support.open", f"ticket:{ticket.id}", priority=level)
        flag = "🆘" if level == support.CRITICAL else "✉️"
        await self._tell_operators(
            f"{flag} <b>Support ticket #{ticket.id}</b> ({level}) from "
            f"{escape(account_id)}:\n{escape(words)}\n"
            f"Answer with /answer {ticket.id} YOUR ANSWER, or on the panel's People page."
        )
        return ticket

    async def answer_ticket(self, ticket_id: object, actor: str, text: str | None) -> Ticket:
        """Answer a ticket (the first answer stops its SLA clock)."""
        raw = str(ticket_id).strip().lstrip("#")
        if not raw.isdigit():
            raise RampartError(f"A ticket number is a whole number like 12; got {ticket_id!r}.")
        who = " ".join((actor or "").split())
        if not who:
            raise RampartError("Say who answers: it is recorded with the answer.")
        words = _text(text, MAX_TICKET, "answer", required=True)
        db = self._db()
        ticket = await asyncio.to_thread(support.answer, db, int(raw), who, words, self._now())
        told = self._tell_investor(ticket)
        await self._record(
            who, "support.answer", f"ticket:{ticket.id}", account=ticket.account_id, told=told
        )
        return ticket

    async def tickets(self, status: str | None = None, limit: int = 50) -> list[Ticket]:
        if status is not None and status not in (support.OPEN, support.ANSWERED):
            raise RampartError(f"Ticket status is open or answered; {status!r} is neither.")
        return await asyncio.to_thread(support.list_tickets, self._db(), status, limit)

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await asyncio.to_thread(support.get_ticket, self._db(), ticket_id)

    async def people(self) -> PeopleFigures:
        """The people figures now (funnel, cohorts, active, churn, satisfaction)."""
        operators = operator_ids(self._session.settings)
        return await asyncio.to_thread(
            lambda: people_figures(self._db(), self._now(), operators=operators)
        )


EXCERPT = 200


def _excerpt(text: str) -> str:
    """The start of what the investor wrote, on one line (the notice reminds, not repeats)."""
    line = " ".join(text.split())
    return line if len(line) <= EXCERPT else line[: EXCERPT - 1] + "…"


__all__ = [
    "PRIORITIES",
    "SUPPORT",
    "FeedbackResult",
    "PeopleActions",
    "TermsStatus",
    "parse_priority",
    "parse_score",
]
