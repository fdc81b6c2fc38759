"""Feedback and support tickets in the store; the facade checks what people type
(:mod:`rampart.operator.people`), this module only reads and writes.

The support SLA (the launch plans: critical answered within 2 hours, general within 24) is
measured on the service's business clock: a ticket is *overdue* while it is open and older than
its priority's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from rampart.domain.errors import RampartError
from rampart.store.errors import translating
from rampart.store.models.people import feedback, support_tickets

CRITICAL, GENERAL = "critical", "general"
PRIORITIES = (CRITICAL, GENERAL)
OPEN, ANSWERED = "open", "answered"
HOUR_MS = 3_600_000
DEFAULT_SLA_MS = {CRITICAL: 2 * HOUR_MS, GENERAL: 24 * HOUR_MS}


class UnknownTicket(RampartError):
    """No ticket has that number."""


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    account_id: str
    priority: str
    status: str
    text: str
    opened_at: int
    answered_at: int | None
    answered_by: str | None
    answer: str | None

    def age_ms(self, now_ms: int) -> int:
        return (self.answered_at if self.answered_at is not None else now_ms) - self.opened_at

    def overdue(self, now_ms: int, sla_ms: Mapping[str, int] = DEFAULT_SLA_MS) -> bool:
        return self.status == OPEN and now_ms - self.opened_at > sla_ms[self.priority]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=int(row.id),
        account_id=str(row.account_id),
        priority=str(row.priority),
        status=str(row.status),
        text=str(row.text),
        opened_at=int(row.opened_at),
        answered_at=None if row.answered_at is None else int(row.answered_at),
        answered_by=row.answered_by,
        answer=row.answer,
    )


def add_feedback(engine: sa.Engine, account_id: str, score: int, text: str, now_ms: int) -> int:
    with translating("Saving the feedback failed"), engine.begin() as conn:
        done = conn.execute(
            feedback.insert().values(account_id=account_id, score=score, text=text, ts=now_ms)
        )
    return _new_id(done)


def _new_id(done: Any) -> int:
    key = done.inserted_primary_key
    if key is None:
        raise RampartError("The database did not say which row it wrote.")
    return int(key[0])


def add_ticket(engine: sa.Engine, account_id: str, priority: str, text: str, now_ms: int) -> Ticket:
    values = {
        "account_id": account_id,
        "priority": priority,
        "status": OPEN,
        "text": text,
        "opened_at": now_ms,
    }
    with translating("Opening the support ticket failed"), engine.begin() as conn:
        done = conn.execute(support_tickets.insert().values(**values))
    ticket_id = _new_id(done)
    return Ticket(ticket_id, account_id, priority, OPEN, text, now_ms, None, None, None)


def get_ticket(engine: sa.Engine, ticket_id: int) -> Ticket | None:
    query = sa.select(support_tickets).where(support_tickets.c.id == ticket_id)
    with translating("Reading the support ticket failed"), engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else _ticket(row)


def answer(engine: sa.Engine, ticket_id: int, actor: str, text: str, now_ms: int) -> Ticket:
    """Record the answer; the SLA clock stops at the first one (a later answer is kept, the
    time of the first stays)."""
    t = support_tickets
    with translating("Answering the support ticket failed"), engine.begin() as conn:
        row = conn.execute(sa.select(t).where(t.c.id == ticket_id)).first()
        if row is None:
            raise UnknownTicket(f"There is no support ticket #{ticket_id}.")
        first = row.answered_at is None
        conn.execute(
            sa.update(t)
            .where(t.c.id == ticket_id)
            .values(
                status=ANSWERED,
                answer=text,
                answered_by=actor if first else row.answered_by,
                answered_at=now_ms if first else row.answered_at,
            )
        )
        found = conn.execute(sa.select(t).where(t.c.id == ticket_id)).one()
    return _ticket(found)


def list_tickets(engine: sa.Engine, status: str | None = None, limit: int = 50) -> list[Ticket]:
    """Newest first; ``status`` is ``open``, ``answered`` or None for both."""
    t = support_tickets
    query = sa.select(t).order_by(t.c.opened_at.desc(), t.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(t.c.status == status)
    with translating("Reading the support tickets failed"), engine.connect() as conn:
        return [_ticket(row) for row in conn.execute(query).all()]


@dataclass(frozen=True, slots=True)
class TicketCounts:
    open: dict[str, int]
    overdue: dict[str, int]
    answered: int = 0
    """Tickets answered in the window asked for."""
    answered_in_sla: int = 0


def ticket_counts(
    engine: sa.Engine,
    now_ms: int,
    sla_ms: Mapping[str, int] = DEFAULT_SLA_MS,
    *,
    answered_since: int | None = None,
) -> TicketCounts:
    """Open and overdue tickets by priority at ``now_ms``; with ``answered_since``, how many
    were answered since then and how many of those inside their SLA."""
    t = support_tickets
    open_by = dict.fromkeys(PRIORITIES, 0)
    late_by = dict.fromkeys(PRIORITIES, 0)
    answered = in_sla = 0
    with translating("Reading the support tickets failed"), engine.connect() as conn:
        for priority in PRIORITIES:
            base = sa.select(sa.func.count()).where(
                t.c.status == OPEN, t.c.priority == priority, t.c.opened_at <= now_ms
            )
            open_by[priority] = int(conn.execute(base).scalar_one())
            late = base.where(t.c.opened_at < now_ms - sla_ms[priority])
            late_by[priority] = int(conn.execute(late).scalar_one())
        if answered_since is not None:
            rows = conn.execute(
                sa.select(t.c.priority, t.c.opened_at, t.c.answered_at).where(
                    t.c.answered_at >= answered_since, t.c.answered_at < now_ms
                )
            ).all()
            answered = len(rows)
            in_sla = sum(
                1
                for r in rows
                if int(r.answered_at) - int(r.opened_at) <= sla_ms.get(r.priority, 0)
            )
    return TicketCounts(open_by, late_by, answered, in_sla)
