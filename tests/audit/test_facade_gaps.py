"""verify's words for a gap or a repeat in the operator facade's own numbering
(``facade_seq``), compared whole, over chains built in memory; and which entries that
numbering covers (the operator's, numbered; older ones without a number; nothing else).

Found by mutation testing (docs/mutation.md, the `records` area): the facade tests only looked
for "operator entry 2 is missing" in the sentence, so a wrong range or a repeat told as a gap
went unnoticed.
"""

from __future__ import annotations

from rampart.store.audit import GENESIS, AuditRecord, entry_hash, verify_records

T0 = 1_767_225_600_000


def _chain(*entries: tuple[str, str]) -> list[AuditRecord]:
    """An intact chain of (action, stored detail text) entries."""
    records, prev = [], GENESIS
    for seq, (action, detail) in enumerate(entries, start=1):
        digest = entry_hash(prev, seq, T0 + seq, "ops", action, "global", detail)
        records.append(
            AuditRecord(seq, T0 + seq, "ops", action, "global", detail, prev, digest)  # type: ignore[arg-type]
        )
        prev = digest
    return records


def _op(number: int, action: str = "operator.kill") -> tuple[str, str]:
    return action, f'{{"facade_seq":{number},"reason":"drill"}}'


def _problem(records: list[AuditRecord]) -> str | None:
    return verify_records(iter(records), len(records), records[-1].hash).problem


def test_one_missing_operator_entry_is_named_with_its_neighbours() -> None:
    assert _problem(_chain(_op(1), _op(2), _op(4))) == (
        "operator entry 3 is missing: entry 3 is operator entry 4, the one before was 2 (an "
        "operator's entry was deleted and the chain rebuilt after it)."
    )


def test_several_missing_operator_entries_are_named_as_a_range() -> None:
    assert _problem(_chain(_op(1), ("order.transition", "{}"), _op(4))) == (
        "operator entries 2 to 3 are missing: entry 3 is operator entry 4, the one before was 1 "
        "(an operator's entry was deleted and the chain rebuilt after it)."
    )
    assert _problem(_chain(_op(1), _op(2), _op(3), _op(7))) == (
        "operator entries 4 to 6 are missing: entry 4 is operator entry 7, the one before was 3 "
        "(an operator's entry was deleted and the chain rebuilt after it)."
    )


def test_the_first_operator_entry_missing_is_named() -> None:
    assert _problem(_chain(("order.transition", "{}"), _op(2))) == (
        "operator entry 1 is missing: entry 2 is operator entry 2, the one before was 0 (an "
        "operator's entry was deleted and the chain rebuilt after it)."
    )


def test_a_repeated_operator_number_is_a_repeat_not_a_gap() -> None:
    assert _problem(_chain(_op(1), _op(2), _op(2, "operator.unkill"))) == (
        "entry 3 repeats operator entry 2 (the operator's entries are numbered one after "
        "another; the last was 2)."
    )
    assert _problem(_chain(_op(1), _op(2), _op(3), _op(1))) == (
        "entry 4 repeats operator entry 1 (the operator's entries are numbered one after "
        "another; the last was 3)."
    )


def test_only_numbered_operator_entries_are_counted() -> None:
    intact = _chain(
        ("operator.kill", '{"reason":"written before the facade numbered its entries"}'),
        _op(1),
        ("kill_switch.engaged", '{"facade_seq":7}'),  # not the facade's: its number is not one
        ("operator.pause", '{"facade_seq":true}'),  # not a number
        ("operator.pause", '{"facade_seq":"2"}'),  # not a number
        ("operator.pause", "[2]"),  # not an object
        ("operator.pause", "not json"),
        _op(2, "operator.unkill"),
    )
    verdict = verify_records(iter(intact), len(intact), intact[-1].hash)
    assert verdict.ok and verdict.entries == 8
