"""verify's sentences compared whole, for every kind of break, over chains built in memory;
and the reading side of the log (paging, an empty head, a failed write) against a database.

Found by mutation testing (docs/mutation.md): the chain tests check which problem is named,
mostly by the start of its sentence, so a wrong range or a missing ending went unnoticed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa

from rampart.domain.errors import StoreError
from rampart.store import audit
from rampart.store.audit import GENESIS, AuditLog, AuditRecord, entry_hash, verify_records
from rampart.store.models.audit import audit_head

T0 = 1_767_225_600_000


def _chain(n: int) -> list[AuditRecord]:
    records, prev = [], GENESIS
    for seq in range(1, n + 1):
        digest = entry_hash(prev, seq, T0 + seq, "ops", "pause", f"a{seq}", "{}")
        records.append(AuditRecord(seq, T0 + seq, "ops", "pause", f"a{seq}", "{}", prev, digest))  # type: ignore[arg-type]
        prev = digest
    return records


def _problem(records: list[AuditRecord], head_seq: int, head_hash: str, **kw: str) -> str | None:
    return verify_records(iter(records), head_seq, head_hash, **kw).problem


def test_an_intact_chain_and_its_head() -> None:
    chain = _chain(4)
    verdict = verify_records(iter(chain), 4, chain[-1].hash)
    assert verdict.ok and (verdict.entries, verdict.head_seq, verdict.head_hash) == (
        4, 4, chain[-1].hash,
    )  # fmt: skip


def test_gaps_name_the_missing_entries_exactly() -> None:
    chain = _chain(8)
    assert _problem(chain[:2] + chain[3:], 8, chain[-1].hash) == (
        "entry 3 is missing (the sequence jumps from 2 to 4)."
    )
    assert _problem(chain[:2] + chain[5:], 8, chain[-1].hash) == (
        "entries 3 to 5 are missing (the sequence jumps from 2 to 6)."
    )


def test_a_repeated_entry_is_named() -> None:
    chain = _chain(4)
    assert _problem([*chain[:3], chain[1], *chain[3:]], 4, chain[-1].hash) == (
        "entry 2 appears twice or out of place after 3."
    )


def test_a_renumbered_entry_is_named_whole() -> None:
    chain = _chain(5)
    # Entry 3 deleted and the ones after it renumbered: "3" holds what hashes as entry 4.
    moved = [dataclasses.replace(rec, seq=rec.seq - 1) for rec in chain[3:]]
    assert _problem([*chain[:2], *moved], 5, chain[-1].hash) == (
        "entry 3 holds the contents of entry 4 (entries were renumbered or moved; one before it "
        "may have been deleted)."
    )


def test_the_end_of_the_chain_against_the_head_record() -> None:
    chain = _chain(6)
    assert _problem(chain[:5], 6, chain[-1].hash) == (
        "entry 6 is missing at the end (the head record says the log has 6)."
    )
    assert _problem(chain[:3], 6, chain[-1].hash) == (
        "entries 4 to 6 are missing at the end (the head record says the log has 6)."
    )
    assert _problem(chain, 4, chain[3].hash) == (
        "entries 5 to 6 were added without updating the head record (written outside Rampart)."
    )


def test_a_noted_head_that_is_not_in_the_chain_is_named_whole() -> None:
    chain = _chain(3)
    noted = "ab" * 32
    assert _problem(chain, 3, chain[-1].hash, expect_head=noted) == (
        f"the noted head {noted} is not in the log: an entry up to it was deleted or rewritten "
        "together with the head record, or the hash belongs to another database."
    )
    assert _problem(chain, 3, chain[-1].hash, expect_head=chain[0].hash) is None


# -- reading the log back ---------------------------------------------------------------------


def test_walk_reads_page_after_page_in_order(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PAGE", 2)  # five entries: three pages
    for i in range(5):
        log.record(T0 + i, "ops", "pause", f"a{i}")
    assert [r.seq for r in log.walk()] == [1, 2, 3, 4, 5]
    assert log.verify().ok and log.verify().entries == 5


def test_a_log_without_a_head_row_starts_at_genesis(db: sa.Engine, log: AuditLog) -> None:
    with db.begin() as conn:
        conn.execute(audit_head.delete())
    assert log.head() == (0, GENESIS)
    assert log.verify().ok
    assert log.record(T0, "ops", "pause", "a") == 1  # the first append puts the row back
    assert log.head()[0] == 1


def test_a_failed_write_is_one_sentence_with_the_database_reason(tmp_path: Path) -> None:
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'r.db'}")
    with pytest.raises(StoreError) as err:
        AuditLog(broken).record(T0, "ops", "pause", "a")
    assert err.value.message == "Could not write to the audit log: unable to open database file."
    broken.dispose()
