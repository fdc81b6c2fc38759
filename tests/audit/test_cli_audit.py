"""``rampart audit verify|show`` against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.store.audit import AuditLog
from rampart.store.db import open_database
from rampart.store.models.audit import audit_log

runner = CliRunner()


def _setup(tmp_path: Path) -> tuple[Path, sa.Engine]:
    db_file = tmp_path / "r.db"
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{db_file}\n")
    engine = open_database(f"sqlite:///{db_file}")
    log = AuditLog(engine)
    for i in range(5):
        log.record(1_767_225_600_000 + i, "admin:ops", "pause", f"acct-{i}", {"i": i})
    return config, engine


def test_verify_passes_then_names_the_deleted_entry(tmp_path: Path) -> None:
    config, engine = _setup(tmp_path)
    head = AuditLog(engine).head()[1]
    ok = runner.invoke(app, ["audit", "verify", "--config", str(config)])
    assert ok.exit_code == 0, ok.output
    assert "Audit log intact: 5 entries" in ok.output
    assert head in ok.output
    noted = runner.invoke(app, ["audit", "verify", "-c", str(config), "--expect-head", head])
    assert noted.exit_code == 0

    with engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 2))
    engine.dispose()
    bad = runner.invoke(app, ["audit", "verify", "--config", str(config)])
    assert bad.exit_code == 1
    assert "Entry 2 is missing (the sequence jumps from 1 to 3)." in bad.output
    assert "Traceback" not in bad.output


def test_show_lists_the_newest_entries(tmp_path: Path) -> None:
    config, engine = _setup(tmp_path)
    engine.dispose()
    result = runner.invoke(app, ["audit", "show", "--limit", "2", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "acct-4" in result.output and "acct-3" in result.output
    assert "acct-2" not in result.output


def test_verify_on_a_corrupt_database_is_one_sentence(tmp_path: Path) -> None:
    db_file = tmp_path / "r.db"
    garbage = b"not a database at all\n" * 200
    db_file.write_bytes(garbage)
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{db_file}\n")
    result = runner.invoke(app, ["audit", "verify", "--config", str(config)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert said.endswith("is not a Rampart database (file is corrupt or of another kind).")
    assert db_file.read_bytes() == garbage
