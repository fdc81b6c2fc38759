"""A forged last entry: the head record catches it alone, a head noted outside the database
catches it rewritten together with the head record, and the CLI says so in words.

The last entry has no successor whose link would break, so a rewrite with a recomputed hash
is intact as a chain; only a comparison with a head kept elsewhere can show it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.errors import RampartError
from rampart.store.audit import GENESIS, AuditLog, entry_hash, noted_head
from rampart.store.db import open_database
from rampart.store.models.audit import audit_head, audit_log

T0 = 1_767_225_600_000
runner = CliRunner()


def _fill(log: AuditLog, n: int = 6) -> None:
    for i in range(n):
        log.record(T0 + i, "admin:ops", "kill_switch.engaged", "global", {"n": i})


def _forge_last(db: sa.Engine, *, with_head: bool) -> str:
    """Rewrite the newest entry as someone who knows the scheme would: contents changed, hash
    recomputed from the real previous hash. Returns the forged hash."""
    with db.begin() as conn:
        last = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq.desc())).first()
        assert last is not None
        forged = entry_hash(
            last.prev_hash,
            last.seq,
            last.ts,
            "nobody",
            "kill_switch.released",
            "global",
            '{"reason":"routine"}',
        )
        conn.execute(
            audit_log.update()
            .where(audit_log.c.seq == last.seq)
            .values(
                actor="nobody",
                action="kill_switch.released",
                detail='{"reason":"routine"}',
                hash=forged,
            )
        )
        if with_head:
            conn.execute(audit_head.update().values(hash=forged))
    return forged


def test_a_forged_last_entry_is_caught_by_the_head_record(db: sa.Engine, log: AuditLog) -> None:
    _fill(log)
    _forge_last(db, with_head=False)
    verdict = log.verify()
    assert verdict.problem == (
        "entry 6 does not match the head record (the last entry was replaced)."
    )
    assert verdict.entries == 6  # every link holds: only the head comparison sees it


def test_a_forged_last_entry_with_its_head_needs_the_noted_head(
    db: sa.Engine, log: AuditLog
) -> None:
    _fill(log)
    noted = log.verify().head_hash
    forged = _forge_last(db, with_head=True)

    # The chain and the head record agree now: the database alone cannot tell...
    alone = log.verify()
    assert alone.ok and alone.head_hash == forged != noted
    # ...the hash noted elsewhere can.
    problem = log.verify(expect_head=noted).problem or ""
    assert problem.startswith(f"the noted head {noted} is not in the log: an entry up to it")
    assert "rewritten together with the head record" in problem


def test_a_noted_head_further_back_still_anchors_what_came_before(
    db: sa.Engine, log: AuditLog
) -> None:
    # The log grows after the note; rewriting an entry after the noted one is caught by the
    # head record, and anything up to the noted one by the note.
    _fill(log, 3)
    noted = log.verify().head_hash
    _fill(log, 3)
    assert log.verify(expect_head=noted).ok
    _forge_last(db, with_head=False)
    assert log.verify(expect_head=noted).problem == (
        "entry 6 does not match the head record (the last entry was replaced)."
    )


def test_the_genesis_hash_anchors_an_empty_log(log: AuditLog) -> None:
    assert log.verify(expect_head=GENESIS).ok
    _fill(log, 1)
    assert log.verify(expect_head=GENESIS).ok  # an empty log's head is before every entry


@pytest.mark.parametrize("text", ["", "4f0c", "g" * 64, "0" * 63, "0" * 65, "entry 6 " + "0" * 64])
def test_a_malformed_note_is_refused_not_taken_for_tampering(text: str) -> None:
    with pytest.raises(RampartError, match="must be the whole 64-character hash"):
        noted_head(text)


def test_a_noted_head_is_read_as_printed_or_in_capitals() -> None:
    digest = "ab" * 32
    assert noted_head(f"  {digest.upper()}\n") == digest


# -- the CLI against a real SQLite file ------------------------------------------------------


def _setup(tmp_path: Path) -> tuple[Path, sa.Engine]:
    db_file = tmp_path / "r.db"
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{db_file}\n")
    engine = open_database(f"sqlite:///{db_file}")
    _fill(AuditLog(engine), 5)
    return config, engine


def test_cli_expect_head_fails_in_words_on_a_forged_tail(tmp_path: Path) -> None:
    config, engine = _setup(tmp_path)
    noted = AuditLog(engine).head()[1]
    fine = runner.invoke(app, ["audit", "verify", "-c", str(config), "--expect-head", noted])
    assert fine.exit_code == 0, fine.output
    assert "The noted head is in the chain" in fine.output

    _forge_last(engine, with_head=True)
    engine.dispose()
    unanchored = runner.invoke(app, ["audit", "verify", "-c", str(config)])
    assert unanchored.exit_code == 0  # why the head must be noted outside the database

    bad = runner.invoke(app, ["audit", "verify", "-c", str(config), "--expect-head", noted])
    assert bad.exit_code == 1, bad.output
    said = " ".join(bad.output.split())
    assert f"Audit log tampered with: The noted head {noted} is not in the log" in said
    assert "rewritten together with the head record" in said
    assert "Traceback" not in bad.output


def test_cli_refuses_a_shortened_head_before_reading_anything(tmp_path: Path) -> None:
    config, engine = _setup(tmp_path)
    # `rampart doctor` prints only the first 16 characters: pasting those is a mistake, not
    # evidence of tampering, so it is exit 2 with what to pass instead.
    short = AuditLog(engine).head()[1][:16]
    engine.dispose()
    result = runner.invoke(app, ["audit", "verify", "-c", str(config), "--expect-head", short])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "The noted head must be the whole 64-character hash" in said
    assert "tampered" not in said
