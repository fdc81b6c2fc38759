"""A money notice leaves only after its record.

"Bought" and "Sold" announce an order or a fill. The store writer commits an event's rows at
the next checkpoint; a notice sent before that, then a kill -9, left an investor told of an
order the restarted books did not hold. So such a notice, put in an outbox (the service's
:class:`~rampart.notices.outbox.Outbox` or a worker's
:class:`~rampart.notices.outbox_writer.OutboxWriter`), is saved — and so sent — only once the
writer's :class:`~rampart.store.marks.DurableMarks` say its rows are committed; it asks for
that commit, which the session makes right after the candle.
"""

from __future__ import annotations

from rampart.notices.investor_notices import ENTRIES, EXITS, InvestorNotice
from rampart.store.marks import DurableMarks

AFTER_RECORD = frozenset({ENTRIES, EXITS})
"""Kinds that announce an order or a fill: saved (and so sent) only once the store holds it."""

Waits = dict[str, tuple[DurableMarks, int]]
"""A notice's key → the store writer's marks and the mark it waits for."""


def wait_for_record(marks: DurableMarks | None, notice: InvestorNotice, waits: Waits) -> None:
    """A money notice put now waits until the rows of its event are committed, and asks the
    session to commit them after this candle rather than at the next checkpoint."""
    if marks is not None and notice.kind in AFTER_RECORD:
        waits[notice.key] = (marks, marks.mark())
        marks.flush_wanted = True


def leaving(
    new: dict[str, InvestorNotice], waits: Waits, *, all_put: bool = False
) -> tuple[list[InvestorNotice], dict[str, InvestorNotice]]:
    """(the notices put that may be saved now, those still waiting for their record), in the
    order put, an account's in its order; ``all_put``: every one (a clean stop, whose
    checkpoint commits the books)."""
    if all_put or not waits:
        waits.clear()
        return list(new.values()), {}
    held: dict[str, InvestorNotice] = {}
    ready: list[InvestorNotice] = []
    waiting: set[str] = set()
    """Accounts with a notice held: what comes after it for them waits too (a "refused the
    stop-loss" must not arrive before the "Bought" it is about)."""
    for key, notice in new.items():
        wait = waits.get(key)
        if notice.account_id in waiting or (wait is not None and not wait[0].durable(wait[1])):
            held[key] = notice
            waiting.add(notice.account_id)
        else:
            ready.append(notice)
    for n in ready:
        waits.pop(n.key, None)
    return ready, held


__all__ = ["AFTER_RECORD", "Waits", "leaving", "wait_for_record"]
