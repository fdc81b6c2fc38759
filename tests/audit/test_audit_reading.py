"""Reading the audit log back: ``tail`` (what ``rampart audit tail`` shows) and the walk
``verify`` checks, whatever order the database happens to keep its rows in.

Found by mutation testing (docs/mutation.md, the `records` area).
"""

from __future__ import annotations

import sqlalchemy as sa

from rampart.store.audit import AuditLog
from rampart.store.models.audit import audit_log

T0 = 1_767_225_600_000


def test_tail_shows_the_newest_twenty_oldest_first_unless_told(log: AuditLog) -> None:
    for i in range(25):
        log.record(T0 + i, "ops", "pause" if i % 2 else "resume", f"a{i}")
    assert [r.seq for r in log.tail()] == list(range(6, 26))
    assert [r.seq for r in log.tail(3)] == [23, 24, 25]
    assert [r.seq for r in log.tail(3, "resume")] == [21, 23, 25]
    assert log.tail(0) == [] and log.tail(-1) == []


def test_a_log_whose_rows_came_back_in_another_order_still_verifies(
    db: sa.Engine, log: AuditLog
) -> None:
    # A restore (or a VACUUM, or a dump loaded table by table) may store rows in any order; the
    # chain is in seq order, and verify reads it so.
    for i in range(5):
        log.record(T0 + i, "ops", "pause", f"a{i}", {"n": i})
    with db.begin() as conn:
        rows = conn.execute(sa.select(audit_log)).mappings().all()
        conn.execute(audit_log.delete())
        for row in sorted(rows, key=lambda r: -int(r["seq"])):
            conn.execute(audit_log.insert().values(**row))
    verdict = log.verify()
    assert verdict.ok, verdict.problem
    assert verdict.entries == 5
    assert [r.seq for r in log.walk()] == [1, 2, 3, 4, 5]
