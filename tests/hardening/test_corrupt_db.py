"""A corrupt database file at start-up: one sentence, exit 2, the file untouched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.security.tokens import create_token
from rampart.store.audit import AuditLog
from rampart.store.db import open_database

runner = CliRunner()
SENTENCE = "is not a Rampart database (file is corrupt or of another kind)."


def _config(tmp_path: Path, db_file: Path) -> Path:
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{db_file}\n")
    return config


@pytest.mark.parametrize(
    "command",
    [["run"], ["token", "list"], ["audit", "verify"], ["incidents"], ["go-nogo"]],
)
def test_a_garbage_file_is_one_sentence_and_left_alone(tmp_path: Path, command: list[str]) -> None:
    db_file = tmp_path / "rampart.db"
    garbage = os.urandom(8192)
    db_file.write_bytes(garbage)
    result = runner.invoke(app, [*command, "--config", str(_config(tmp_path, db_file))])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert said == f"Error: {db_file} {SENTENCE}"
    assert db_file.read_bytes() == garbage


def test_a_rampart_database_damaged_inside_is_one_sentence(tmp_path: Path) -> None:
    # A real database whose header survives but whose schema pages were overwritten, as a
    # failing disk or a half-copied file leaves it.
    db_file = tmp_path / "rampart.db"
    db = open_database(f"sqlite:///{db_file}")
    create_token(db, "admin", None, "ops", 1)
    AuditLog(db).record(1, "cli", "token.create", "x")
    db.dispose()
    for extra in (Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
        extra.unlink(missing_ok=True)
    data = bytearray(db_file.read_bytes())
    data[100:4096] = os.urandom(3996)  # page 1 after the 100-byte header: the schema
    db_file.write_bytes(bytes(data))
    damaged = db_file.read_bytes()
    config = _config(tmp_path, db_file)
    for command in (["token", "list"], ["audit", "verify"]):
        result = runner.invoke(app, [*command, "--config", str(config)])
        said = " ".join(result.output.split())
        assert result.exit_code == 2, said
        assert said == f"Error: {db_file} {SENTENCE}"
    assert db_file.read_bytes() == damaged
