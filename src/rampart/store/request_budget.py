"""The request budget's windows in the database, shared by every worker on one address.

Each spend is one statement: ``INSERT … ON CONFLICT DO UPDATE SET used = used + cost WHERE
used + cost <= ceiling RETURNING used``. The database serialises the updates of a row, so two
workers can never both take the last room of a window; no row comes back when the spend would
pass the ceiling. PostgreSQL is the one to share across machines; SQLite works the same for
processes on one machine.

When the database does not answer, the budget goes on in process (:class:`MemoryLedger`) and
says so once: protective orders must not wait on the store, and each worker's own count still
holds it back (the exchange's used-weight headers raise it to the address's real count).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite

from rampart.store.models_budget import request_budget as t
from rampart.venues.request_budget import MemoryLedger

log = structlog.get_logger("rampart.store.request_budget")

KEEP_MS = 2 * 86_400_000
"""Windows older than this are deleted (the longest limit counted is a day)."""
PRUNE_EVERY = 500


class SqlLedger:
    def __init__(self, engine: sa.Engine | Callable[[], sa.Engine]) -> None:
        """``engine``: the database, or a function opening it at first use (a worker builds
        its venue before it opens the store)."""
        self._engine: sa.Engine | None = None
        self._open = engine
        self.fallback = MemoryLedger()
        self.failing = False
        self._spends = 0

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            opener = self._open
            self._engine = opener if isinstance(opener, sa.Engine) else opener()
        return self._engine

    def _insert(self, key: str, start: int, used: float) -> Any:
        dialect = self.engine.dialect.name
        module: Any = postgresql if dialect == "postgresql" else sqlite
        return module.insert(t).values(budget=key, window_start=start, used=used)

    def _run(self, stmt: Any) -> float | None:
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        if self.failing:
            self.failing = False
            log.info("request_budget_store_back")
        return None if row is None else float(row[0])

    def _failed(self, exc: Exception) -> None:
        if not self.failing:
            self.failing = True
            log.warning("request_budget_store_failed", error=type(exc).__name__)

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        try:
            ins = self._insert(key, start, cost)
            stmt = ins.on_conflict_do_update(
                index_elements=[t.c.budget, t.c.window_start],
                set_={"used": t.c.used + ins.excluded.used},
                where=t.c.used + ins.excluded.used <= ceiling,
            ).returning(t.c.used)
            total = self._run(stmt)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._failed(exc)
            return self.fallback.spend(key, start, cost, ceiling)
        self._spends += 1
        if self._spends % PRUNE_EVERY == 1:
            self._prune(start)
        return total

    def raise_to(self, key: str, start: int, used: float) -> float:
        try:
            ins = self._insert(key, start, used)
            higher = sa.case((t.c.used < ins.excluded.used, ins.excluded.used), else_=t.c.used)
            stmt = ins.on_conflict_do_update(
                index_elements=[t.c.budget, t.c.window_start], set_={"used": higher}
            ).returning(t.c.used)
            total = self._run(stmt)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._failed(exc)
            return self.fallback.raise_to(key, start, used)
        return used if total is None else total

    def used(self, key: str, start: int) -> float:
        try:
            with self.engine.connect() as conn:
                found = conn.execute(
                    sa.select(t.c.used).where(t.c.budget == key, t.c.window_start == start)
                ).scalar()
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._failed(exc)
            return self.fallback.used(key, start)
        return float(found or 0.0)

    def _prune(self, start: int) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.delete(t).where(t.c.window_start < start - KEEP_MS))
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._failed(exc)


__all__ = ["SqlLedger"]
