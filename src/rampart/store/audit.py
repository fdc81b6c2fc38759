"""The tamper-evident audit log: append-only rows, each carrying the hash of the one before.

``hash = sha256(prev_hash || canonical(seq, ts, actor, action, target, detail))`` with a
genesis ``prev_hash`` of 64 zeros. The database cannot stop its owner editing rows; the chain
makes any edit, deletion or reordering visible to :func:`verify`, which names the first
problem in words. A deleted or rewritten *tail* leaves an intact chain, so the one-row
``audit_head`` table keeps the newest ``seq``/``hash``. That record is in the same database,
though: whoever rewrites the last entry and the head record together passes it. Only a head
hash noted outside the database, passed back as ``expect_head``, anchors the chain against
that.

Appends are serialised twice over: a lock per database inside this process, and the
``audit_head`` row, which every append updates first (a row lock on PostgreSQL, the write
lock on SQLite), so two processes cannot both extend the same head.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import exc

from rampart.domain.errors import StoreError
from rampart.store.audit_chain import (
    FACADE,
    FACADE_SEQ,
    GENESIS,
    AuditRecord,
    Verdict,
    canonical,
    entry_hash,
    facade_seq,
    noted_head,
    verify_records,
)
from rampart.store.dialects import dialect_insert
from rampart.store.errors import driver_reason
from rampart.store.fast_insert import FastInsert
from rampart.store.models import ID, NAME
from rampart.store.models.audit import audit_head, audit_log

log = structlog.get_logger("rampart.store.audit")

HEAD_ID = 1
PAGE = 5000

_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock_for(engine: sa.Engine) -> threading.RLock:
    key = engine.url.render_as_string(hide_password=True)
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry to append (what callers hand over)."""

    ts: int
    actor: str
    action: str
    target: str
    detail: dict[str, Any] | None = None
    detail_text: str | None = field(default=None, compare=False, repr=False)
    """``canonical(detail)`` already written, when the caller has it (appending uses it)."""


_TOUCH_HEAD = audit_head.update().where(audit_head.c.id == HEAD_ID).values(seq=audit_head.c.seq)
_READ_HEAD = sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
_HEAD_AND_NEWEST = sa.select(
    sa.select(audit_head.c.seq).where(audit_head.c.id == HEAD_ID).scalar_subquery(),
    sa.select(sa.func.max(audit_log.c.seq)).scalar_subquery(),
)
_MOVE_HEAD = (
    audit_head.update()
    .where(audit_head.c.id == HEAD_ID)
    .values(
        seq=sa.bindparam("v_seq", type_=audit_head.c.seq.type),
        hash=sa.bindparam("v_hash", type_=audit_head.c.hash.type),
        updated_at=sa.bindparam("v_ts", type_=audit_head.c.updated_at.type),
    )
)
"""The head's statements, built once: a statement made per flush paid SQLAlchemy's cache-key
walk each time (~2 % of a trading replay); these memoize theirs."""

_AUDIT_KEYS = ("seq", "ts", "actor", "action", "target", "detail", "prev_hash", "hash")
"""audit_log's columns in table order, as :meth:`AuditLog.append` builds its rows."""

ENGINE_ACTOR = "engine"
ORDER = "order.transition"
_FACADE_END = FACADE[:-1] + chr(ord(FACADE[-1]) + 1)
_LAST_FACADE = (
    sa.select(audit_log.c.detail)
    # A range, not LIKE: it uses the (action, ts) index on both backends.
    .where(audit_log.c.action >= FACADE, audit_log.c.action < _FACADE_END)
    .order_by(audit_log.c.seq.desc())
    .limit(1)
)
KILL_SWITCH = "kill_switch."
ACCOUNT_STATE = "account.state"


def batch_entries(
    transitions: Sequence[dict[str, Any] | Transition], account_events: Sequence[dict[str, Any]]
) -> list[Entry]:
    """Audit entries for one store-writer batch: order transitions, kill switch and pause
    changes (who and why), account state changes; oldest first.

    Built from the rows the writer already made, so the engine's hot path does no extra work.
    """
    return [
        # An order transition's item carries only its text: the detail is that text read back.
        Entry(ts, actor, action, target, json.loads(text) if detail is None else detail, text)
        if text is not None
        else Entry(ts, actor, action, target, detail)
        for ts, actor, action, target, detail, text in batch_items(transitions, account_events)
    ]


Item = tuple[int, str, str, str, dict[str, Any] | None, str | None]
"""An entry as :meth:`AuditLog.append_items` takes it: Entry's fields, in order, as a tuple
(one per order transition in a batch: building a frozen dataclass for each cost more than
hashing it)."""


def batch_items(
    transitions: Sequence[dict[str, Any] | Transition], account_events: Sequence[dict[str, Any]]
) -> list[Item]:
    """:func:`batch_entries` as tuples, for the store writer's flush."""
    items: list[Item] = []
    detail: dict[str, Any]
    for row in transitions:  # a loop, not a call per transition (the writer's are tuples)
        client_id, account_id, ts, previous, status = (
            row if type(row) is tuple else _transition(row)  # type: ignore[arg-type]
        )
        # An order transition's entry: its detail says whose order and from what to what.
        detail = {"account_id": account_id, "from": previous, "to": status}
        items.append((ts, ENGINE_ACTOR, ORDER, client_id, detail, None))
    for row in account_events:
        if row["kind"] == "kill_switch":
            detail = {"reason": row["reason"], "flatten": bool(row["flatten"])}
            items.append(
                (row["ts"], row["actor"], KILL_SWITCH + row["new"], row["scope"], detail, None)
            )
        elif row["kind"] == "state":
            detail = {"from": row["old"], "to": row["new"], "reason": row["reason"]}
            items.append((row["ts"], row["actor"], ACCOUNT_STATE, row["scope"], detail, None))
    if account_events:
        items.sort(key=_ts)  # stable: transitions keep their order
    return items


def _ts(item: Item) -> int:
    return item[0]


Transition = tuple[str, str, int, str, str]
"""An order transition as the store writer buffers it: client_id, account_id, ts, previous,
status (see :data:`rampart.store.rows.TRANSITION_KEYS`)."""


def _transition(row: dict[str, Any]) -> Transition:
    """A transition given as a dict (``TRANSITION_KEYS``), as the writer's tuple."""
    return (row["client_id"], row["account_id"], row["ts"], row["previous"], row["status"])


class AuditLog:
    """Append to and check the audit log of one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.lock = _lock_for(engine)
        """Serialises appends in this process; hold it from before the transaction begins to
        after it commits (the database's own lock then never waits on this one)."""
        insert = dialect_insert(engine.dialect.name)
        self._seed_head = insert(audit_head).on_conflict_do_nothing(index_elements=["id"])
        self._insert = FastInsert(audit_log.insert(), audit_log, engine.dialect)

    # -- appending ------------------------------------------------------------------------

    def record(
        self, ts: int, actor: str, action: str, target: str, detail: dict[str, Any] | None = None
    ) -> int:
        """Append one entry in its own transaction; returns its sequence number."""
        return self.record_many([Entry(ts, actor, action, target, detail)])

    def record_many(self, entries: Sequence[Entry]) -> int:
        """Append entries in one transaction; returns the last sequence number (0 if none)."""
        try:
            with self.lock, self.engine.begin() as conn:
                return self.append(conn, entries)
        except exc.SQLAlchemyError as err:
            # The driver's words alone (not errors.explain's sentence): the audit tests and
            # record_safely's log line hold this exact wording.
            raise StoreError(f"Could not write to the audit log: {driver_reason(err)}.") from err

    def append(self, conn: sa.Connection, entries: Iterable[Entry]) -> int:
        """Append inside the caller's transaction (the store writer's batch flush).

        The head row stays locked until the caller commits, so nothing else can extend the
        chain in between; that database lock alone makes appends correct. Callers that can
        should also hold :attr:`lock` from before ``engine.begin()`` to after the commit, so
        threads of one process queue on it rather than on SQLite's busy timeout. It is not
        taken here: taking it after the transaction has written would invert the lock order.
        Returns the last sequence number written (the old head if none).
        """
        return self.append_items(
            conn, [(e.ts, e.actor, e.action, e.target, e.detail, e.detail_text) for e in entries]
        )

    def append_items(
        self, conn: sa.Connection, items: Iterable[Item], facade: Sequence[Item] = ()
    ) -> int:
        """:meth:`append` for entries given as tuples (see :data:`Item`). ``facade``: the
        operator facade's entries, numbered here (under the head's lock, so two writers never
        give one number twice) and merged with ``items`` in time order."""
        seq, prev = self._lock_head(conn)
        if facade:
            items = sorted([*items, *self._number_facade(conn, facade)], key=_ts)
        batch: list[tuple[Any, ...]] = []
        # Each row (in _AUDIT_KEYS order) chained to the one before by the one rule: fields
        # clipped to their columns, the detail as canonical JSON, entry_hash over them. Written
        # in the loop, not a call per entry: a replay appends one for every order transition.
        for ts, actor, action, target, data, text in items:
            seq += 1
            # A text that fits its column is kept as it is without a call (nearly all).
            if type(actor) is not str or len(actor) > ID:
                actor = _clip(actor, ID)
            if type(action) is not str or len(action) > NAME:
                action = _clip(action, NAME)
            if type(target) is not str or len(target) > ID:
                target = _clip(target, ID)
            detail = text if text is not None else canonical(data or {})
            digest = entry_hash(prev, seq, ts, actor, action, target, detail)
            batch.append((seq, ts, actor, action, target, detail, prev, digest))
            prev = digest
        if batch:
            self._insert.execute_values(conn, _AUDIT_KEYS, batch)
            conn.execute(_MOVE_HEAD, {"v_seq": seq, "v_hash": prev, "v_ts": batch[-1][1]})
        return seq

    def append_batch(
        self,
        conn: sa.Connection,
        transitions: Sequence[Transition],
        account_events: Sequence[dict[str, Any]] = (),
        facade: Sequence[Item] = (),
    ) -> int:
        """Append a store-writer batch: its order transitions (tuples, see :data:`Transition`),
        the entries its account events make (:func:`batch_items`) and the facade's, each
        chained by the one rule (:meth:`append_items`)."""
        return self.append_items(conn, batch_items(transitions, account_events), facade)

    @staticmethod
    def _number_facade(conn: sa.Connection, facade: Sequence[Item]) -> list[Item]:
        last = 0
        text = conn.execute(_LAST_FACADE).scalar()
        if text is not None:
            last = facade_seq(text) or 0
        numbered: list[Item] = []
        for ts, actor, action, target, data, _text in facade:
            if not action.startswith(FACADE):
                raise ValueError(f"{action!r} is not an operator facade action")
            last += 1
            numbered.append((ts, actor, action, target, {**(data or {}), FACADE_SEQ: last}, None))
        return numbered

    def _lock_head(self, conn: sa.Connection) -> tuple[int, str]:
        # Writing first takes the lock (row lock on PostgreSQL, write lock on SQLite) before
        # the head is read, so the read sees every committed append.
        if conn.execute(_TOUCH_HEAD).rowcount == 0:
            # Tables made without the migration (create_all) have no head row yet.
            conn.execute(self._seed_head.values(id=HEAD_ID, seq=0, hash=GENESIS, updated_at=0))
            conn.execute(_TOUCH_HEAD)
        row = conn.execute(_READ_HEAD).one()
        return int(row.seq), str(row.hash)

    # -- reading --------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """The recorded head: (newest seq, its hash); (0, genesis) for an empty log."""
        with self.engine.connect() as conn:
            row = conn.execute(_READ_HEAD).first()
        return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))

    def tail(self, limit: int = 20, action: str | None = None) -> list[AuditRecord]:
        """The newest ``limit`` entries, oldest first."""
        query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(max(0, limit))
        if action is not None:
            query = query.where(audit_log.c.action == action)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_record(r) for r in reversed(rows)]

    def walk(self, upto: int | None = None) -> Iterator[AuditRecord]:
        """Every stored row in ``seq`` order (up to ``upto``), read a page at a time."""
        after: int | None = None
        while True:
            query = sa.select(audit_log).order_by(audit_log.c.seq).limit(PAGE)
            if upto is not None:
                query = query.where(audit_log.c.seq <= upto)
            if after is not None:
                query = query.where(audit_log.c.seq > after)
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                yield _record(row, raw=True)
            after = int(rows[-1]["seq"])

    # -- checking -------------------------------------------------------------------------

    def verify(self, expect_head: str | None = None) -> Verdict:
        """Walk the chain in ``seq`` order up to the head read first, and name the first
        problem, if any. Entries appended while it walks are past that head and not judged
        (read in a second read, they look "added without updating the head
        record" on an intact log the service is writing). Entries written outside Rampart
        are found after the walk, with the head and the newest entry read in one statement:
        every append moves both in one transaction, so apart they are never seen."""
        head_seq, head_hash = self.head()
        verdict = verify_records(self.walk(upto=head_seq), head_seq, head_hash, expect_head)
        if not verdict.ok:
            return verdict
        with self.engine.connect() as conn:
            row = conn.execute(_HEAD_AND_NEWEST).first()
        head, newest = (0, 0) if row is None else (int(row[0] or 0), int(row[1] or 0))
        if newest > head:
            return replace(
                verdict,
                problem=f"entries {head + 1} to {newest} were added without updating the head "
                "record (written outside Rampart).",
            )
        return verdict


async def record_safely(
    engine: sa.Engine | None,
    ts: int,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """Record off the event loop, for callers whose action has already happened: a failure
    to write is logged loudly rather than turned into a failed command. None when there is no
    database or the write failed."""
    if engine is None:
        return None
    try:
        return await asyncio.to_thread(AuditLog(engine).record, ts, actor, action, target, detail)
    except StoreError as err:
        log.error("audit_write_failed", action=action, target=target, error=err.message)
        return None


def _record(row: Any, *, raw: bool = False) -> AuditRecord:
    text = row["detail"]
    if raw:
        detail: Any = text  # verify needs the stored characters
    else:
        try:
            detail = json.loads(text)
        except ValueError:
            detail = {"unreadable": text}
    return AuditRecord(
        seq=int(row["seq"]),
        ts=int(row["ts"]),
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        detail=detail,
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


__all__ = [
    "FACADE",
    "FACADE_SEQ",
    "GENESIS",
    "ORDER",
    "AuditLog",
    "AuditRecord",
    "Entry",
    "Item",
    "Verdict",
    "batch_entries",
    "batch_items",
    "canonical",
    "entry_hash",
    "noted_head",
    "record_safely",
    "verify_records",
]
