"""What the store writer's batch puts in the audit log, entry by entry, and the helpers that
turn values into the canonical text the chain hashes.

The writer's own tests check the chain it builds; these pin each entry's fields, since a
wrong actor, target or detail is still a perfectly valid chain of the wrong facts.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog.testing

from rampart.domain.orders import OrderStatus
from rampart.store.audit import (
    AuditLog,
    Entry,
    batch_entries,
    batch_items,
    canonical,
    record_safely,
)

T0 = 1_767_225_600_000


def _transition(ts: int, client_id: str, previous: str, status: str) -> dict[str, Any]:
    return {
        "ts": ts,
        "client_id": client_id,
        "account_id": "acct-1",
        "previous": previous,
        "status": status,
    }


def _event(ts: int, kind: str, **fields: Any) -> dict[str, Any]:
    row = {"ts": ts, "kind": kind, "actor": "admin:ops", "scope": "acct-1", "reason": "why"}
    return row | fields


def test_transitions_become_order_entries_in_order() -> None:
    entries = batch_entries(
        [_transition(T0 + 5, "c1", "new", "open"), _transition(T0 + 1, "c2", "open", "filled")],
        [],
    )
    # No account events: the transitions keep the writer's order, even out of time order.
    assert entries == [
        Entry(T0 + 5, "engine", "order.transition", "c1",
              {"account_id": "acct-1", "from": "new", "to": "open"}),
        Entry(T0 + 1, "engine", "order.transition", "c2",
              {"account_id": "acct-1", "from": "open", "to": "filled"}),
    ]  # fmt: skip


def test_kill_switch_and_state_changes_name_who_and_why() -> None:
    events = [
        _event(T0 + 3, "kill_switch", new="engaged", scope="global", flatten=1, reason="drill"),
        _event(T0 + 4, "state", old="active", new="halted", actor="engine"),
        _event(T0 + 5, "capital", old="100", new="200"),  # not audited here: its own command
    ]
    entries = batch_entries([_transition(T0 + 2, "c1", "new", "open")], events)
    assert entries[1:] == [
        Entry(T0 + 3, "admin:ops", "kill_switch.engaged", "global",
              {"reason": "drill", "flatten": True}),
        Entry(T0 + 4, "engine", "account.state", "acct-1",
              {"from": "active", "to": "halted", "reason": "why"}),
    ]  # fmt: skip
    assert entries[1].detail is not None and entries[1].detail["flatten"] is True


def test_account_events_are_merged_in_time_order_keeping_ties_stable() -> None:
    transitions = [
        _transition(T0 + 1, "a", "new", "open"),
        _transition(T0 + 5, "b", "open", "filled"),
        _transition(T0 + 5, "c", "open", "canceled"),
    ]
    events = [
        _event(T0 + 5, "kill_switch", new="released", flatten=0),
        _event(T0 + 2, "state", old="active", new="reducing"),
    ]
    order = [(e.ts, e.target) for e in batch_entries(transitions, events)]
    assert order == [
        (T0 + 1, "a"),
        (T0 + 2, "acct-1"),
        (T0 + 5, "b"),
        (T0 + 5, "c"),
        (T0 + 5, "acct-1"),
    ]


class Colour(Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
        ({"amount": Decimal("1E+2")}, '{"amount":"100"}'),
        ({"c": Colour.RED}, '{"c":"red"}'),
        ({"s": {"y", "x"}}, '{"s":["x","y"]}'),
        ({"f": frozenset({2, 10})}, '{"f":[10,2]}'),  # sorted as text, not as numbers
        ({"t": (3, 1)}, '{"t":[3,1]}'),
        ({"d": date(2026, 1, 2)}, '{"d":"2026-01-02"}'),
        ({"é": "ü"}, '{"é":"ü"}'),
    ],
)
def test_canonical_text_of_every_kind_of_value(value: object, text: str) -> None:
    assert canonical(value) == text


def test_tail_is_the_newest_oldest_first_and_filters_by_action(log: AuditLog) -> None:
    for i in range(5):
        log.record(T0 + i, "admin:ops", "pause" if i % 2 else "resume", f"acct-{i}", {"i": i})
    assert [r.seq for r in log.tail(3)] == [3, 4, 5]
    assert [r.target for r in log.tail(10, action="pause")] == ["acct-1", "acct-3"]
    assert log.tail(0) == [] and log.tail(-1) == []
    newest = log.tail(1)[0]
    assert (newest.actor, newest.action, newest.detail) == ("admin:ops", "resume", {"i": 4})


def test_tail_shows_an_unreadable_detail_instead_of_failing(db: sa.Engine, log: AuditLog) -> None:
    from rampart.store.models.audit import audit_log

    log.record(T0, "admin:ops", "pause", "acct-1", {"i": 1})
    with db.begin() as conn:
        conn.execute(audit_log.update().values(detail="{not json"))
    assert log.tail(1)[0].detail == {"unreadable": "{not json"}


def test_record_safely_writes_off_the_loop_and_returns_the_seq(db: sa.Engine) -> None:
    assert asyncio.run(record_safely(None, T0, "a", "b", "c")) is None  # no database
    seq = asyncio.run(record_safely(db, T0, "tg:7", "pause", "acct-1", {"why": "x"}))
    assert seq == 1
    [rec] = AuditLog(db).tail(1)
    assert (rec.ts, rec.actor, rec.action, rec.target, rec.detail) == (
        T0,
        "tg:7",
        "pause",
        "acct-1",
        {"why": "x"},
    )


def test_record_safely_logs_a_failed_write_instead_of_raising(tmp_path: Path) -> None:
    # The action already happened; losing its audit row is logged loudly, not raised.
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'r.db'}")
    with structlog.testing.capture_logs() as logs:
        assert asyncio.run(record_safely(broken, T0, "tg:7", "pause", "acct-1")) is None
    [line] = [x for x in logs if x["event"] == "audit_write_failed"]
    assert (line["log_level"], line["action"], line["target"]) == ("error", "pause", "acct-1")
    assert line["error"].startswith("Could not write to the audit log: ")
    broken.dispose()


def test_an_order_transition_entry_is_serialised_by_the_one_rule_when_appended() -> None:
    # No text is made ahead for a transition (no copy of canonical() for speed):
    # its detail is serialised by canonical() as it is chained, as an account event's is.
    transition, event = batch_entries(
        [_transition(T0 + 1, "c1", "new", "open")], [_event(T0 + 2, "state", old="a", new="b")]
    )
    assert transition.detail == {"account_id": "acct-1", "from": "new", "to": "open"}
    assert canonical(transition.detail) == '{"account_id":"acct-1","from":"new","to":"open"}'
    assert (transition.detail_text, event.detail_text) == (None, None)


def test_a_transition_given_as_enums_or_with_no_previous_status_is_the_same_record(
    log: AuditLog,
) -> None:
    # The writer hands over plain text; any other caller's values (an OrderStatus, no previous
    # status for a new order) give the entry the same facts, and the same hash for the same
    # facts.
    plain = _transition(T0, "c1", "submitted", "filled")
    typed = plain | {"previous": OrderStatus.SUBMITTED, "status": OrderStatus.FILLED}
    fresh = _transition(T0 + 1, "c2", "", "new") | {"previous": None}
    entries = batch_entries([typed, fresh], [])
    assert entries == [
        Entry(T0, "engine", "order.transition", "c1",
              {"account_id": "acct-1", "from": "submitted", "to": "filled"}),
        Entry(T0 + 1, "engine", "order.transition", "c2",
              {"account_id": "acct-1", "from": None, "to": "new"}),
    ]  # fmt: skip
    log.record_many(entries)
    stored = [(r.seq, r.ts, r.target, r.detail) for r in log.tail(2)]
    assert stored == [
        (1, T0, "c1", {"account_id": "acct-1", "from": "submitted", "to": "filled"}),
        (2, T0 + 1, "c2", {"account_id": "acct-1", "from": None, "to": "new"}),
    ]
    typed_hash = log.head()[1]
    assert log.verify().ok

    other = AuditLog(log.engine)
    with log.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))
        conn.execute(sa.text("DELETE FROM audit_head"))
    other.record_many(batch_entries([plain, fresh], []))
    assert other.head() == (2, typed_hash)


def _rows(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM audit_log ORDER BY seq"))]


def test_a_batch_of_transitions_chains_as_the_general_path_does(log: AuditLog) -> None:
    # append_batch writes plain transitions in one pass with each detail text made once per
    # (account, from, to); odd ones (an enum, no previous status, a client id longer than the
    # column, a ts of another int type) go the general way. The rows must be the ones
    # append_items writes for batch_items of the same tuples, in every column.
    class Ms(int):
        pass

    transitions: list[Any] = [
        ("c1", "acct-1", T0, "new", "submitted"),
        ("c2", "bøb ✓", T0 + 1, "new", "submitted"),
        ("c1", "acct-1", T0 + 2, "submitted", "filled"),
        ("c3", "acct-1", T0 + 3, OrderStatus.NEW, OrderStatus.SUBMITTED),
        ("c4", "acct-1", T0 + 4, None, "new"),
        ("c" * 200, "acct-1", T0 + 5, "new", "rejected"),
        ("c5", "acct-1", Ms(T0 + 6), "new", "submitted"),
        ("c6", 'q"uo\\te', T0 + 7, "new", "submitted"),
        ("c7", "acct-1", T0 + 8, "new", "rejected"),  # the same account and "from" as c1
        ("c8", "acct-1", T0 + 9, "new", "submitted"),  # c1's text again
    ]
    with log.engine.begin() as conn:
        assert log.append_batch(conn, transitions) == len(transitions)
    fast, head = _rows(log.engine), log.head()
    assert log.verify().ok
    with log.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log"))
        conn.execute(sa.text("DELETE FROM audit_head"))
    with log.engine.begin() as conn:
        log.append_items(conn, batch_items(transitions, []))
    assert _rows(log.engine) == fast
    assert log.head() == head
