"""The audit log's hash chain, apart from where it is stored: how an entry is hashed, and the
walk that checks a chain and names its first problem in words (:func:`verify_records`).
:mod:`rampart.store.audit` appends and reads the rows; this module only reasons about them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from rampart.domain.errors import RampartError

GENESIS = "0" * 64
FACADE = "operator."
"""The actions of the operator facade (every action a person takes through it) start with
this; each carries :data:`FACADE_SEQ`."""
FACADE_SEQ = "facade_seq"
"""The facade's own numbering (1, 2, 3 …) in each of its entries' detail, given when the entry
is appended: an entry deleted with the chain rebuilt after it still leaves a gap here."""


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
)
_C_ENCODER = c_make_encoder
"""The json module's C encoder, what ``_ENCODER.encode`` builds for each value (None where
the interpreter has no C speedups: then ``_ENCODER`` itself)."""


def canonical(value: Any) -> str:
    """Sorted keys, no whitespace, Decimals as plain strings: one text per value."""
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    # What _ENCODER.encode does for a value, without its two Python-level calls (encode,
    # iterencode) around the C encoder: the same arguments, a fresh marker dict each time
    # (the circular-reference check), so the same text to the character. Asked twice for
    # every audit entry (an order transition's detail and its hash).
    return "".join(
        _C_ENCODER({}, _json_default, encode_basestring, None, ":", ",", True, False, True)(
            value, 0
        )
    )


def entry_hash(
    prev_hash: str, seq: int, ts: int, actor: str, action: str, target: str, detail: str
) -> str:
    """The hash of one entry; ``detail`` is its canonical JSON text exactly as stored.

    The fixed fields are one canonical JSON array followed by the detail text, so the hash
    covers every stored character (a whitespace edit in ``detail`` shows too) and appending
    needs no second serialisation.
    """
    body = canonical([int(seq), int(ts), actor, action, target]) + detail
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One stored entry."""

    seq: int
    ts: int
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :meth:`rampart.store.audit.AuditLog.verify` found."""

    entries: int
    head_seq: int
    head_hash: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def facade_seq(detail: str) -> int | None:
    """The facade number in an entry's stored detail (None for an entry written before the
    facade numbered its entries, or one whose detail is not an object)."""
    try:
        data = json.loads(detail)
    except ValueError:
        return None
    value = data.get(FACADE_SEQ) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _content_hash(rec: AuditRecord, seq: int, prev_hash: str) -> str:
    """The hash ``rec``'s contents would have as entry ``seq``."""
    return entry_hash(prev_hash, seq, rec.ts, rec.actor, rec.action, rec.target, str(rec.detail))


def _intact(rec: AuditRecord, seq: int | None = None) -> bool:
    """Does the row's stored hash match its contents (taken as entry ``seq``)?"""
    return _content_hash(rec, rec.seq if seq is None else seq, rec.prev_hash) == rec.hash


def noted_head(text: str) -> str:
    """A head hash an operator noted elsewhere, as ``verify`` compares it: 64 hex digits.

    Checked before the walk, because a shortened or mistyped hash would otherwise read as
    "not in the log", an alarm about tampering when the note itself is wrong.
    """
    value = text.strip().lower()
    if len(value) != len(GENESIS) or any(c not in "0123456789abcdef" for c in value):
        raise RampartError(
            f"The noted head must be the whole 64-character hash `rampart audit verify` "
            f"prints; got {text.strip()!r} ({len(value)} characters)."
        )
    return value


def _facade_gap(last: int, number: int, seq: int) -> str:
    if number <= last:
        return (
            f"entry {seq} repeats operator entry {number} (the operator's entries are numbered "
            f"one after another; the last was {last})."
        )
    gone = (
        f"operator entry {last + 1} is missing"
        if number == last + 2
        else f"operator entries {last + 1} to {number - 1} are missing"
    )
    return (
        f"{gone}: entry {seq} is operator entry {number}, the one before was {last} (an "
        "operator's entry was deleted and the chain rebuilt after it)."
    )


def verify_records(
    records: Iterable[AuditRecord],
    head_seq: int,
    head_hash: str,
    expect_head: str | None = None,
) -> Verdict:
    """The chain check itself, over rows in ``seq`` order (exposed for tests and tools).

    Looks one row ahead so a swapped pair is named as such rather than as an edit.
    """
    count = 0
    last_seq, last_hash = 0, GENESIS
    last_facade = 0
    seen_expected = expect_head is None or expect_head == GENESIS
    iterator = iter(records)
    current = next(iterator, None)

    def verdict(problem: str | None) -> Verdict:
        return Verdict(count, head_seq, head_hash, problem)

    while current is not None:
        following = next(iterator, None)
        rec = current
        expected_seq = last_seq + 1
        if rec.seq != expected_seq:
            if rec.seq > expected_seq:
                gone = (
                    f"entry {expected_seq} is missing"
                    if rec.seq == expected_seq + 1
                    else f"entries {expected_seq} to {rec.seq - 1} are missing"
                )
                return verdict(f"{gone} (the sequence jumps from {last_seq} to {rec.seq}).")
            return verdict(f"entry {rec.seq} appears twice or out of place after {last_seq}.")
        if not _intact(rec):
            if (
                following is not None
                and following.seq == rec.seq + 1
                and _intact(rec, following.seq)
                and _intact(following, rec.seq)
            ):
                return verdict(
                    f"entries {rec.seq} and {following.seq} are out of order (each holds "
                    "the other's contents: they were swapped)."
                )
            if following is not None and _intact(rec, following.seq):
                return verdict(
                    f"entry {rec.seq} holds the contents of entry {following.seq} (entries "
                    "were renumbered or moved; one before it may have been deleted)."
                )
            return verdict(f"entry {rec.seq} was edited (its hash does not match its contents).")
        if rec.prev_hash != last_hash:
            return verdict(
                f"entry {rec.seq} does not follow entry {last_seq} (its link to the previous "
                "hash is broken: an entry between them was deleted, inserted or replaced)."
            )
        if rec.action.startswith(FACADE) and (number := facade_seq(str(rec.detail))):
            if number != last_facade + 1:
                return verdict(_facade_gap(last_facade, number, rec.seq))
            last_facade = number
        count += 1
        last_seq, last_hash = rec.seq, rec.hash
        if not seen_expected and rec.hash == expect_head:
            seen_expected = True
        current = following

    if head_seq > last_seq:
        gone = (
            f"entry {head_seq} is missing"
            if head_seq == last_seq + 1
            else f"entries {last_seq + 1} to {head_seq} are missing"
        )
        return verdict(f"{gone} at the end (the head record says the log has {head_seq}).")
    if head_seq < last_seq:
        return verdict(
            f"entries {head_seq + 1} to {last_seq} were added without updating the head "
            "record (written outside Rampart)."
        )
    if head_hash != last_hash:
        return verdict(
            f"entry {last_seq} does not match the head record (the last entry was replaced)."
        )
    if not seen_expected:
        # The chain and the head record agree, so whoever changed it rewrote both: only a hash
        # kept outside the database can tell.
        return verdict(
            f"the noted head {expect_head} is not in the log: an entry up to it was deleted "
            "or rewritten together with the head record, or the hash belongs to another "
            "database."
        )
    return verdict(None)
