"""API tokens on both backends: only a hash is stored, verify/revoke/list behave, and the
``rampart token`` commands print the token once and refuse bad input in a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.domain.errors import RampartError
from rampart.security import tokens
from rampart.store import models as m
from rampart.store.db import open_database
from rampart.store.models.audit import audit_log


@pytest.fixture
def db(db_url: str):
    engine = open_database(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_token_is_stored_only_as_its_hash(db) -> None:
    token = tokens.create_token(db, "user", "alice", "alice's phone", 1_000)
    assert token.startswith("rp_") and len(token) == 46
    with db.connect() as conn:
        row = conn.execute(sa.select(m.api_tokens)).one()
    assert row.token_hash == tokens.hash_token(token) != token
    assert token not in str(tuple(row))
    assert row.prefix == token[:10] and row.scope == "user" and row.account_id == "alice"
    info = tokens.verify(db, token)
    assert info is not None
    assert (info.scope, info.account_id, info.name, info.created_at) == (
        "user",
        "alice",
        "alice's phone",
        1_000,
    )


def test_verify_refuses_unknown_malformed_and_revoked_tokens(db) -> None:
    token = tokens.create_token(db, "admin", None, "ops", 0)
    assert tokens.verify(db, token + "x") is None
    assert tokens.verify(db, "") is None
    assert tokens.verify(db, "not-ours") is None
    assert tokens.verify(db, "rp_" + "a" * 500) is None
    done = tokens.revoke(db, token[:10], 5_000)
    assert done.revoked_at == 5_000
    assert tokens.verify(db, token) is None
    assert tokens.list_tokens(db) == []
    assert [t.id for t in tokens.list_tokens(db, include_revoked=True)] == [done.id]


def test_two_tokens_never_collide_and_touch_records_use(db) -> None:
    first = tokens.create_token(db, "admin", None, "", 0)
    second = tokens.create_token(db, "admin", None, "", 0)
    assert first != second
    info = tokens.verify(db, first)
    assert info is not None and info.name == "admin" and info.last_used_at is None
    tokens.touch(db, info.id, 42)
    again = tokens.verify(db, first)
    assert again is not None and again.last_used_at == 42


@pytest.mark.parametrize(
    ("scope", "account", "says"),
    [
        ("root", None, "The scope must be admin, read or user; got 'root'."),
        ("read", "alice", "A read token reaches every account; do not give it --account."),
        ("user", None, "A user token belongs to one account: say which with --account."),
        ("admin", "alice", "An admin token reaches every account; do not give it --account."),
        ("user", "a" * 129, "An account id has at most 128 characters."),
    ],
)
def test_create_refuses_bad_input_and_stores_nothing(
    db, scope: str, account: str | None, says: str
) -> None:
    with pytest.raises(RampartError) as caught:
        tokens.create_token(db, scope, account, "", 0)
    assert caught.value.message == says
    assert tokens.list_tokens(db, include_revoked=True) == []


def test_revoke_refuses_unknown_and_ambiguous_references(db) -> None:
    tokens.create_token(db, "admin", None, "", 0)
    with pytest.raises(RampartError, match="There is no active token '99'"):
        tokens.revoke(db, "99", 0)
    with pytest.raises(RampartError, match="Name the token by its id or its prefix"):
        tokens.revoke(db, "drop table", 0)


# -- the command line -------------------------------------------------------------------------


def _cli(tmp_path: Path, *args: str):
    config = tmp_path / "rampart.yaml"
    if not config.exists():
        config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'var' / 'rampart.db'}\n")
    return CliRunner().invoke(app, ["token", *args, "--config", str(config)])


def test_cli_creates_a_token_once_lists_and_revokes_it(tmp_path: Path) -> None:
    made = _cli(tmp_path, "create", "--scope", "user", "--account", "demo-trend", "--name", "ci")
    assert made.exit_code == 0, made.output
    token = next(line for line in made.output.splitlines() if line.startswith("rp_"))
    assert "not shown again" in made.output
    db = open_database(f"sqlite:///{tmp_path / 'var' / 'rampart.db'}")
    try:
        info = tokens.verify(db, token)
        assert info is not None and info.account_id == "demo-trend" and info.name == "ci"
    finally:
        db.dispose()

    listed = _cli(tmp_path, "list")
    assert listed.exit_code == 0
    assert token[:7] in listed.output and token not in listed.output

    revoked = _cli(tmp_path, "revoke", str(info.id))
    assert revoked.exit_code == 0
    assert f"Revoked token {info.id}" in revoked.output
    again = _cli(tmp_path, "revoke", str(info.id))
    assert again.exit_code == 2
    assert "There is no active token" in again.output


def test_cli_creates_a_read_token_lists_it_and_audits_it(tmp_path: Path) -> None:
    made = _cli(tmp_path, "create", "--scope", "read", "--name", "wall-screen")
    assert made.exit_code == 0, made.output
    assert "Created a read token for every account (it may read, never act):" in made.output
    token = next(line for line in made.output.splitlines() if line.startswith("rp_"))
    listed = _cli(tmp_path, "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if token[:7] in line)
    assert "read" in row.split() and "wall-screen" in row
    db = open_database(f"sqlite:///{tmp_path / 'var' / 'rampart.db'}")
    try:
        info = tokens.verify(db, token)
        assert info is not None and (info.scope, info.account_id) == ("read", None)
        with db.connect() as conn:
            audit = conn.execute(sa.select(audit_log)).mappings().all()
    finally:
        db.dispose()
    assert [(a["action"], a["target"]) for a in audit] == [("token.create", token[:10])]
    assert json.loads(audit[0]["detail"])["scope"] == "read"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--scope", "user", "--account", "nobody"], "There is no account called 'nobody'"),
        (["--scope", "user"], "A user token belongs to one account"),
        (["--scope", "superuser"], "The scope must be admin, read or user"),
        (["--scope", "read", "--account", "alice"], "A read token reaches every account"),
    ],
)
def test_cli_refuses_in_one_sentence(tmp_path: Path, args: list[str], says: str) -> None:
    result = _cli(tmp_path, "create", *args)
    assert result.exit_code == 2
    assert says in " ".join(result.output.split())
    assert "Traceback" not in result.output
