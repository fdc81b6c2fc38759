"""Which kinds of notice each account's investor receives (``/notify``), in ``notify_prefs``.

A kind with no row is on. The whole table is read once at start and kept in memory, so the
bus subscriber deciding whether to queue a notice never touches the database on the engine's
path; ``/notify`` writes the row and the memory together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import sqlalchemy as sa

from rampart.notices.investor_notices import KINDS
from rampart.store.dialects import dialect_insert
from rampart.store.errors import translating
from rampart.store.models import notify as mn


class NotifyPrefs:
    def __init__(self, db: sa.Engine) -> None:
        self._db = db
        self._off: dict[str, set[str]] = {}

    def load(self) -> NotifyPrefs:
        c = mn.notify_prefs.c
        with translating("Reading notification settings failed"), self._db.connect() as conn:
            rows = conn.execute(sa.select(c.account_id, c.kind).where(c.enabled.is_(False)))
            off: dict[str, set[str]] = {}
            for account_id, kind in rows:
                off.setdefault(str(account_id), set()).add(str(kind))
        self._off = off
        return self

    def enabled(self, account_id: str, kind: str) -> bool:
        return kind not in self._off.get(account_id, ())

    def of(self, account_id: str) -> dict[str, bool]:
        """Every kind with whether it is on, in the order ``/notify`` lists them."""
        return {kind: self.enabled(account_id, kind) for kind in KINDS}

    async def set(self, account_id: str, kinds: Iterable[str], on: bool, now_ms: int) -> None:
        chosen = list(kinds)
        await asyncio.to_thread(self._write, account_id, chosen, on, now_ms)
        off = self._off.setdefault(account_id, set())
        if on:
            off.difference_update(chosen)
        else:
            off.update(chosen)

    def _write(self, account_id: str, kinds: list[str], on: bool, now_ms: int) -> None:
        if not kinds:
            return
        t = mn.notify_prefs
        insert = dialect_insert(self._db.dialect.name)
        rows = [
            {"account_id": account_id, "kind": k, "enabled": on, "updated_at": now_ms}
            for k in kinds
        ]
        stmt = insert(t).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.account_id, t.c.kind],
            set_={"enabled": stmt.excluded.enabled, "updated_at": stmt.excluded.updated_at},
        )
        with translating("Saving notification settings failed"), self._db.begin() as conn:
            conn.execute(stmt)
