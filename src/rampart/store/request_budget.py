"""The request budget's windows in the database, shared by every worker on one address: a row
per window and lane (the budget names the row; the store knows no lane).

Each spend is one statement: ``INSERT … ON CONFLICT DO UPDATE SET used = used + cost WHERE
used + cost <= ceiling RETURNING used``. The database serialises the updates of a row, so two
workers can never both take the last room of a window; no row comes back when the spend would
pass the ceiling. PostgreSQL is the one to share across machines; SQLite works the same for
processes on one machine.

A failure raises: the budget wraps this ledger in
:class:`rampart.venues.request_budget.SharedLedger`, which goes on in process while the
database does not answer (the store knows no venue; the venue's budget knows no database).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from rampart.store.models.budget import request_budget as t

KEEP_MS = 2 * 86_400_000
"""Windows older than this are deleted (the longest limit counted is a day)."""
PRUNE_EVERY = 500


class SqlLedger:
    def __init__(self, engine: sa.Engine | Callable[[], sa.Engine]) -> None:
        """``engine``: the database, or a function opening it at first use (a worker builds
        its venue before it opens the store)."""
        self._engine: sa.Engine | None = None
        self._open = engine
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
        return None if row is None else float(row[0])

    def spend(self, key: str, start: int, cost: float, ceiling: float) -> float | None:
        ins = self._insert(key, start, cost)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.c.budget, t.c.window_start],
            set_={"used": t.c.used + ins.excluded.used},
            where=t.c.used + ins.excluded.used <= ceiling,
        ).returning(t.c.used)
        total = self._run(stmt)
        self._spends += 1
        if self._spends % PRUNE_EVERY == 1:
            self._prune(start)
        return total

    def raise_to(self, key: str, start: int, used: float) -> float:
        ins = self._insert(key, start, used)
        higher = sa.case((t.c.used < ins.excluded.used, ins.excluded.used), else_=t.c.used)
        stmt = ins.on_conflict_do_update(
            index_elements=[t.c.budget, t.c.window_start], set_={"used": higher}
        ).returning(t.c.used)
        total = self._run(stmt)
        return used if total is None else total

    def used(self, key: str, start: int) -> float:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(t.c.used).where(t.c.budget == key, t.c.window_start == start)
            ).scalar()
        return float(found or 0.0)

    def used_many(self, keys: Sequence[str], start: int) -> list[float]:
        """Several rows of one window in one read (a window's lanes and spare pool)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.budget, t.c.used).where(
                    t.c.budget.in_(list(keys)), t.c.window_start == start
                )
            ).all()
        found = {str(row.budget): float(row.used) for row in rows}
        return [found.get(key, 0.0) for key in keys]

    def _prune(self, start: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(t).where(t.c.window_start < start - KEEP_MS))


__all__ = ["SqlLedger"]
