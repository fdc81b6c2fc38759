"""The store writer chains order transitions and kill switch changes into the audit log
inside its batch flush: same transaction, no gaps, nothing on a failed flush."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.domain.events import KillSwitchChanged, OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart.store.audit import AuditLog
from rampart.store.writer import StoreWriter
from tests.store.factories import ACCOUNT, T0, filled_entry


def _publish_order(writer: StoreWriter) -> list[tuple[str, str]]:
    _, snapshots, _, _ = filled_entry()
    previous = OrderStatus.NEW
    seen = []
    for snap in snapshots:
        writer(OrderUpdated(snap.updated_at, snap, previous))
        seen.append((previous.value, snap.status.value))
        previous = snap.status
    return seen


def test_a_flush_appends_transitions_and_kill_switch_changes(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    log = AuditLog(db)
    log.record(T0 - 1, "admin:ops", "token.create", "1")  # an admin action before the batch
    seen = _publish_order(writer)
    writer(KillSwitchChanged(T0 + 10_000, "global", True, "drill", "admin:ops", flatten=True))
    writer.flush()

    entries = log.tail(50)
    assert [e.seq for e in entries] == list(range(1, len(seen) + 3))
    orders = [e for e in entries if e.action == "order.transition"]
    assert [(e.detail["from"], e.detail["to"]) for e in orders] == seen
    assert {e.detail["account_id"] for e in orders} == {ACCOUNT}
    [kill] = [e for e in entries if e.action.startswith("kill_switch")]
    assert (kill.action, kill.actor, kill.target) == ("kill_switch.engaged", "admin:ops", "global")
    assert kill.detail == {"reason": "drill", "flatten": True}
    assert log.verify().ok

    log.record(T0 + 20_000, "tg:7", "resume", ACCOUNT)  # interleaves with later batches
    _publish_order(writer)
    writer.flush()
    verdict = log.verify()
    assert verdict.ok and verdict.entries == 2 * len(seen) + 3


def test_a_failed_flush_appends_nothing_and_the_retry_has_no_gap(db: sa.Engine) -> None:
    writer = StoreWriter(db)
    log = AuditLog(db)
    seen = _publish_order(writer)
    with pytest.raises(StoreError, match="checkpoint 'replay' failed"):
        writer.flush(("replay", T0, {"cash": Decimal("1.5")}))  # fails after the audit rows
    assert log.head()[0] == 0
    assert log.tail(10) == []
    writer.flush(("replay", T0, {"cash": "1.5"}))
    verdict = log.verify()
    assert verdict.ok and verdict.entries == len(seen)


def test_the_audit_can_be_turned_off_for_bulk_tools(db: sa.Engine) -> None:
    writer = StoreWriter(db, audit=False)
    _publish_order(writer)
    writer.flush()
    assert AuditLog(db).verify().entries == 0


def test_an_admin_record_during_a_flush_waits_for_it_instead_of_failing(db: sa.Engine) -> None:
    # The writer holds the audit lock from before its transaction to after its commit; a
    # record from another thread queues behind it rather than hitting SQLite's busy timeout.
    writer = StoreWriter(db)
    log = AuditLog(db)
    seen = _publish_order(writer)
    batch = writer.detach()
    results: list[int] = []
    errors: list[BaseException] = []

    def admin() -> None:
        try:
            results.append(log.record(T0, "api:ops", "operator.pause", ACCOUNT))
        except BaseException as err:
            errors.append(err)

    other = threading.Thread(target=admin)
    with writer.audit.lock:  # type: ignore[union-attr]
        other.start()
        writer.write(batch)  # reentrant: the same thread may take the lock again
        assert results == []  # still queued behind the flush
    other.join(timeout=60)
    assert errors == [] and results == [len(seen) + 1]
    assert log.verify().ok
