"""What appending writes, on each of its paths: the operator facade's numbered entries merged
with the rest in time order, an entry handed over with its canonical text, an order
transition's quick path and its limits, an empty batch.

Found by mutation testing (docs/mutation.md, the `records` area): the chain tests append
through ``record`` alone, so the store writer's paths were checked only end to end.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from rampart.store.audit import GENESIS, ORDER, AuditLog, Entry, Item, canonical, entry_hash
from rampart.store.models.audit import audit_head, audit_log

T0 = 1_767_225_600_000


def _stored(db: sa.Engine) -> list[tuple[Any, ...]]:
    cols = audit_log.c
    with db.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(
                    cols.seq, cols.ts, cols.actor, cols.action, cols.target, cols.detail
                ).order_by(cols.seq)
            )
        ]


def _append(log: AuditLog, items: list[Item], facade: list[Item] | None = None) -> int:
    with log.lock, log.engine.begin() as conn:
        return log.append_items(conn, items, facade or [])


def test_facade_entries_are_numbered_on_from_the_log_and_merged_in_time_order(
    db: sa.Engine, log: AuditLog
) -> None:
    kill: Item = (T0 + 2, "tg:9", "operator.kill", "global", {"reason": "drill"}, None)
    pause: Item = (T0 + 4, "tg:7", "operator.pause", "acct-1", None, None)
    order: Item = (T0 + 3, "engine", ORDER, "c1", {"account_id": "acct-1"}, None)
    assert _append(log, [order], [kill, pause]) == 3
    log.record(T0 + 5, "admin:ops", "token.create", "7")  # not the facade's: not numbered
    unkill: Item = (T0 + 6, "admin:ops", "operator.unkill", "global", {"reason": "over"}, None)
    assert _append(log, [], [unkill]) == 5
    assert _stored(db) == [
        (1, T0 + 2, "tg:9", "operator.kill", "global", '{"facade_seq":1,"reason":"drill"}'),
        (2, T0 + 3, "engine", ORDER, "c1", '{"account_id":"acct-1"}'),
        (3, T0 + 4, "tg:7", "operator.pause", "acct-1", '{"facade_seq":2}'),
        (4, T0 + 5, "admin:ops", "token.create", "7", "{}"),
        (5, T0 + 6, "admin:ops", "operator.unkill", "global", '{"facade_seq":3,"reason":"over"}'),
    ]
    assert log.verify().ok


def test_facade_numbering_starts_at_one_after_entries_written_before_it(
    db: sa.Engine, log: AuditLog
) -> None:
    # An operator entry from before the facade numbered its entries carries no number.
    log.record(T0, "admin:ops", "operator.kill", "global", {"reason": "old"})
    pause: Item = (T0 + 1, "tg:7", "operator.pause", "acct-1", {"reason": "new"}, None)
    _append(log, [], [pause])
    assert _stored(db)[-1][-1] == '{"facade_seq":1,"reason":"new"}'
    assert log.verify().ok


def test_only_operator_actions_are_numbered_as_the_facades(db: sa.Engine, log: AuditLog) -> None:
    stray: Item = (T0, "admin:ops", "kill_switch.engaged", "global", {}, None)
    with pytest.raises(ValueError) as err:
        _append(log, [], [stray])
    assert str(err.value) == "'kill_switch.engaged' is not an operator facade action"
    assert _stored(db) == [] and log.head() == (0, GENESIS)


def test_an_entry_handed_over_with_its_text_is_stored_and_hashed_as_that_text(
    db: sa.Engine, log: AuditLog
) -> None:
    detail = {"amount": "1.50", "why": "top-up"}
    text = canonical(detail)
    log.record_many(
        [
            Entry(T0, "admin:ops", "capital.set", "acct-1", detail, text),
            Entry(T0 + 1, "engine", "account.state", "acct-1", None, '{"to":"halted"}'),
        ]
    )
    first, second = log.tail(2)
    assert (first.actor, first.action, first.detail) == ("admin:ops", "capital.set", detail)
    assert (second.actor, second.action, second.detail) == (
        "engine",
        "account.state",
        {"to": "halted"},
    )
    assert first.hash == entry_hash(GENESIS, 1, T0, "admin:ops", "capital.set", "acct-1", text)
    assert log.verify().ok


def test_an_order_transition_with_an_overlong_client_id_is_stored_clipped(
    db: sa.Engine, log: AuditLog
) -> None:
    text = '{"account_id":"acct-1","from":"new","to":"open"}'
    exact, long = "c" * 128, "d" * 200
    _append(
        log,
        [(T0, "engine", ORDER, exact, None, text), (T0 + 1, "engine", ORDER, long, None, text)],
    )
    assert [row[4] for row in _stored(db)] == [exact, "d" * 127 + "…"]
    assert log.verify().ok


def test_an_empty_batch_writes_nothing_and_returns_the_head(db: sa.Engine, log: AuditLog) -> None:
    assert log.record_many([]) == 0
    assert log.head() == (0, GENESIS)
    log.record(T0, "admin:ops", "pause", "acct-1")
    head = log.head()
    assert log.record_many([]) == 1
    assert _append(log, []) == 1
    assert log.head() == head


def _head_row(db: sa.Engine) -> tuple[Any, ...] | None:
    with db.connect() as conn:
        row = conn.execute(
            sa.select(audit_head.c.seq, audit_head.c.hash, audit_head.c.updated_at)
        ).first()
    return None if row is None else tuple(row)


def test_the_head_record_notes_the_newest_entry_and_its_time(db: sa.Engine, log: AuditLog) -> None:
    with db.begin() as conn:
        conn.execute(audit_head.delete())  # tables made without the migration have no head row
    assert log.record_many([]) == 0
    assert _head_row(db) == (0, GENESIS, 0)  # put back at genesis, never moved
    log.record_many(
        [
            Entry(T0 + 5, "admin:ops", "pause", "acct-1"),
            Entry(T0 + 3, "admin:ops", "resume", "acct-1"),  # written second, though earlier
            Entry(T0 + 4, "tg:7", "pause", "acct-2"),
        ]
    )
    newest = log.tail(1)[0]
    assert _head_row(db) == (3, newest.hash, T0 + 4)
    log.record(T0 + 9, "admin:ops", "resume", "acct-2")
    assert _head_row(db) == (4, log.tail(1)[0].hash, T0 + 9)


def test_fields_exactly_at_their_column_size_are_kept_whole(log: AuditLog) -> None:
    actor, action, target = "a" * 128, "b" * 64, "c" * 128
    log.record(T0, actor, action, target)
    rec = log.tail(1)[0]
    assert (rec.actor, rec.action, rec.target) == (actor, action, target)
    assert log.verify().ok


def test_entries_of_the_same_millisecond_keep_the_order_they_were_given(
    db: sa.Engine, log: AuditLog
) -> None:
    # Two operator actions and an order transition in one millisecond: the transitions first
    # (as the batch had them), then the facade's in the order taken, numbered so.
    pause: Item = (T0, "admin:ops", "operator.pause", "acct-1", None, None)
    kill: Item = (T0, "admin:ops", "operator.kill", "global", None, None)
    order: Item = (T0, "engine", ORDER, "c1", {"account_id": "acct-1"}, None)
    _append(log, [order], [pause, kill])
    assert [(row[3], row[5]) for row in _stored(db)] == [
        (ORDER, '{"account_id":"acct-1"}'),
        ("operator.pause", '{"facade_seq":1}'),
        ("operator.kill", '{"facade_seq":2}'),
    ]
    assert log.verify().ok
