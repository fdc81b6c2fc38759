"""Counts the people metrics (:mod:`rampart.observability.people_metrics`) from the store, off
the event loop; the health sampler calls it at every heartbeat. Support tickets (a few indexed
counts, what the SLA alert reads) are counted every time; the funnel, cohorts and the rest
(which read the order and equity history) at most every ``people.sample_every_s`` on the ops
clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from rampart.clock import Clock
from rampart.observability.logging import LazyLogger
from rampart.observability.people_metrics import PeopleMetrics
from rampart.store.people import people_figures
from rampart.store.support import DEFAULT_SLA_MS, ticket_counts

log = LazyLogger("rampart.people")


class PeopleSampler:
    """Counts the people metrics from the store. ``business`` dates the SLA clock and the
    windows; ``ops`` paces the heavier figures (``every_s``)."""

    def __init__(
        self,
        db: sa.Engine,
        metrics: PeopleMetrics,
        *,
        business: Clock,
        ops: Clock,
        sla_ms: Mapping[str, int] = DEFAULT_SLA_MS,
        every_s: float = 300.0,
        operators: Iterable[int] = (),
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.business = business
        self.ops = ops
        self.sla_ms = dict(sla_ms)
        self.operators = tuple(operators)
        """Telegram ids of operators: not investors."""
        self.every_ms = int(every_s * 1000)
        self._last: int | None = None

    def count(self, figures: bool = True) -> None:
        """Count now (blocking: call it off the event loop); the tickets always, the other
        figures when ``figures``."""
        now = self.business.now_ms()
        self.metrics.show_tickets(ticket_counts(self.db, now, self.sla_ms))
        if figures:
            self.metrics.show(people_figures(self.db, now, operators=self.operators))

    async def sample(self, *, force: bool = False) -> bool:
        """Count the tickets, and the other figures when ``every_s`` has passed since they
        were last counted (or ``force``); True when those were counted too. A store that
        cannot be read leaves the gauges as they were (logged)."""
        now = self.ops.now_ms()
        due = force or self._last is None or now - self._last >= self.every_ms
        if due:
            self._last = now
        try:
            await asyncio.to_thread(self.count, due)
        except Exception as exc:  # the database being down is DatabaseDown's alert, not ours
            log.warning("people_metrics_failed", error=type(exc).__name__)
            return False
        return due
