"""The audit chain: gapless appends, and verify names an edited, deleted or swapped entry."""

from __future__ import annotations

import hashlib
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.store.audit import GENESIS, AuditLog, Entry, canonical, entry_hash
from rampart.store.models.audit import audit_head, audit_log

T0 = 1_767_225_600_000


def _fill(log: AuditLog, n: int = 6) -> None:
    for i in range(n):
        seq = log.record(T0 + i, "admin:ops", "kill_switch.engaged", "global", {"n": i})
        assert seq == i + 1


def _exec(db: sa.Engine, stmt: sa.Executable) -> None:
    with db.begin() as conn:
        conn.execute(stmt)


def _row(db: sa.Engine, seq: int) -> dict[str, object]:
    with db.connect() as conn:
        return dict(
            conn.execute(sa.select(audit_log).where(audit_log.c.seq == seq)).mappings().one()
        )


def test_appends_are_numbered_and_chained(db: sa.Engine, log: AuditLog) -> None:
    assert log.verify().ok and log.verify().entries == 0
    log.record(T0, "admin:ops", "token.create", "7", {"amount": Decimal("1.50"), "b": [1, 2]})
    log.record(T0 + 1, "tg:42", "pause", "acct-1", None)

    first, second = _row(db, 1), _row(db, 2)
    assert first["prev_hash"] == GENESIS
    # Canonical detail: sorted keys, no whitespace, Decimals as strings.
    assert first["detail"] == '{"amount":"1.50","b":[1,2]}'
    assert second["detail"] == "{}"
    assert first["hash"] == entry_hash(
        GENESIS, 1, T0, "admin:ops", "token.create", "7", '{"amount":"1.50","b":[1,2]}'
    )
    assert second["prev_hash"] == first["hash"]

    verdict = log.verify()
    assert verdict.ok
    assert (verdict.entries, verdict.head_seq, verdict.head_hash) == (2, 2, second["hash"])
    assert [r.action for r in log.tail(5)] == ["token.create", "pause"]
    assert log.tail(1)[0].detail == {}


def test_verify_catches_an_edited_row(db: sa.Engine, log: AuditLog) -> None:
    _fill(log)
    _exec(db, audit_log.update().where(audit_log.c.seq == 4).values(actor="someone-else"))
    verdict = log.verify()
    assert not verdict.ok
    assert verdict.problem == "entry 4 was edited (its hash does not match its contents)."
    assert verdict.entries == 3


def test_verify_catches_an_edit_that_only_touches_whitespace_in_the_detail(
    db: sa.Engine, log: AuditLog
) -> None:
    _fill(log, 3)
    _exec(db, audit_log.update().where(audit_log.c.seq == 2).values(detail='{"n": 1}'))
    assert log.verify().problem == "entry 2 was edited (its hash does not match its contents)."


def test_verify_catches_an_edit_with_a_recomputed_hash(db: sa.Engine, log: AuditLog) -> None:
    # Someone who knows the scheme rewrites entry 3 and its hash: the next link breaks.
    _fill(log)
    row = _row(db, 3)
    forged = entry_hash(str(row["prev_hash"]), 3, T0 + 2, "nobody", "x", "y", "{}")
    _exec(
        db,
        audit_log.update()
        .where(audit_log.c.seq == 3)
        .values(actor="nobody", action="x", target="y", detail="{}", hash=forged),
    )
    assert log.verify().problem == (
        "entry 4 does not follow entry 3 (its link to the previous hash is broken: an entry "
        "between them was deleted, inserted or replaced)."
    )


def test_verify_catches_a_deleted_row(db: sa.Engine, log: AuditLog) -> None:
    _fill(log)
    _exec(db, audit_log.delete().where(audit_log.c.seq == 3))
    assert log.verify().problem == "entry 3 is missing (the sequence jumps from 2 to 4)."


def test_verify_catches_deleted_rows_that_were_renumbered(db: sa.Engine, log: AuditLog) -> None:
    _fill(log)
    _exec(db, audit_log.delete().where(audit_log.c.seq == 3))
    for seq in (4, 5, 6):
        _exec(db, audit_log.update().where(audit_log.c.seq == seq).values(seq=seq - 1))
    problem = log.verify().problem or ""
    assert problem.startswith("entry 3 holds the contents of entry 4")


def test_verify_catches_a_swapped_pair(db: sa.Engine, log: AuditLog) -> None:
    _fill(log)
    third, fourth = _row(db, 3), _row(db, 4)
    content = ("ts", "actor", "action", "target", "detail", "prev_hash", "hash")
    _exec(
        db,
        audit_log.update().where(audit_log.c.seq == 3).values({k: fourth[k] for k in content}),
    )
    _exec(
        db,
        audit_log.update().where(audit_log.c.seq == 4).values({k: third[k] for k in content}),
    )
    assert log.verify().problem == (
        "entries 3 and 4 are out of order (each holds the other's contents: they were swapped)."
    )


def test_verify_catches_a_deleted_tail_against_the_head(db: sa.Engine, log: AuditLog) -> None:
    _fill(log)
    _exec(db, audit_log.delete().where(audit_log.c.seq >= 5))
    assert log.verify().problem == (
        "entries 5 to 6 are missing at the end (the head record says the log has 6)."
    )


def test_a_noted_head_catches_a_tail_deleted_together_with_the_head(
    db: sa.Engine, log: AuditLog
) -> None:
    _fill(log)
    noted = log.verify().head_hash
    assert log.verify(expect_head=noted).ok
    log.record(T0 + 10, "admin:ops", "later", "x")
    assert log.verify(expect_head=noted).ok  # the chain grew past the noted head: fine

    # Deleting the tail and rewinding the head record leaves a consistent-looking chain...
    _exec(db, audit_log.delete().where(audit_log.c.seq >= 5))
    _exec(db, audit_head.update().values(seq=4, hash=_row(db, 4)["hash"]))
    assert log.verify().ok
    # ...which only the hash the operator noted elsewhere exposes.
    problem = log.verify(expect_head=noted).problem or ""
    assert problem.startswith(f"the noted head {noted} is not in the log")


def test_entries_appended_outside_rampart_are_named(db: sa.Engine, log: AuditLog) -> None:
    _fill(log, 2)
    prev = str(_row(db, 2)["hash"])
    digest = entry_hash(prev, 3, T0, "x", "y", "z", "{}")
    _exec(
        db,
        audit_log.insert().values(
            seq=3,
            ts=T0,
            actor="x",
            action="y",
            target="z",
            detail="{}",
            prev_hash=prev,
            hash=digest,
        ),
    )
    assert log.verify().problem == (
        "entries 3 to 3 were added without updating the head record (written outside Rampart)."
    )


def test_appends_from_many_threads_and_separate_locks_stay_gapless(
    db: sa.Engine,
) -> None:
    # Each thread has its own AuditLog with its own process lock, as separate processes
    # would: only the database's head row serialises them.
    def work(worker: int) -> None:
        log = AuditLog(db)
        log.lock = threading.RLock()
        for i in range(15):
            log.record_many(
                [
                    Entry(T0 + i, f"w{worker}", "tick", str(i)),
                    Entry(T0 + i, f"w{worker}", "tock", ""),
                ]
            )

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = AuditLog(db).verify()
    assert verdict.ok, verdict.problem
    assert verdict.entries == verdict.head_seq == 4 * 15 * 2


def test_long_fields_are_clipped_before_hashing(log: AuditLog) -> None:
    seq = log.record(T0, "a" * 500, "b" * 500, "c" * 500, {"k": "v" * 5000})
    rec = log.tail(1)[0]
    assert rec.seq == seq
    assert (len(rec.actor), len(rec.action), len(rec.target)) == (128, 64, 128)
    assert log.verify().ok


@pytest.mark.parametrize(
    ("value", "text"),
    [({"b": 1, "a": Decimal("2.50")}, '{"a":"2.50","b":1}'), ({"s": {3, 1}}, '{"s":[1,3]}')],
)
def test_canonical_form(value: object, text: str) -> None:
    assert canonical(value) == text


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**62),
    ts=st.integers(min_value=0, max_value=2**62),
    words=st.lists(st.text(max_size=40), min_size=3, max_size=3),
)
def test_the_hash_covers_the_canonical_fields(seq: int, ts: int, words: list[str]) -> None:
    actor, action, target = words
    body = canonical([seq, ts, actor, action, target]) + '{"k":1}'
    expected = hashlib.sha256((GENESIS + body).encode()).hexdigest()
    assert entry_hash(GENESIS, seq, ts, actor, action, target, '{"k":1}') == expected


def test_verify_is_right_on_an_intact_log_written_while_it_reads(log: AuditLog) -> None:
    """Once, verify read the head, then walked the entries in a second read; entries the
    service appended in between were called "added without updating the head record". The
    service's appends land between the two reads here (each moves the head with its rows)."""
    for i in range(5):
        log.record(T0 + i, "op", "act", "t", {"i": i})
    read_head = log.head

    def head_then_service_writes() -> tuple[int, str]:
        seen = read_head()
        for i in range(3):
            log.record(T0 + 10 + i, "service", "act", "t", {"i": i})
        return seen

    log.head = head_then_service_writes  # type: ignore[method-assign]
    verdict = log.verify()
    assert verdict.ok, verdict.problem
    assert verdict.entries == 5 and verdict.head_seq == 5
    del log.head
    assert log.verify().ok and log.verify().entries == 8
