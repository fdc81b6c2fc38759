"""``rampart token rotate``: a replacement with the same scope and account, the old one
refused at once, every step in the audit log (prefixes only, never a token)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.security import tokens
from rampart.store.audit import AuditLog
from rampart.store.db import open_database

runner = CliRunner()


def test_rotate_replaces_a_user_token_and_audits_it(tmp_path: Path) -> None:
    db_file = tmp_path / "r.db"
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{db_file}\n")
    made = runner.invoke(
        app,
        [
            "token",
            "create",
            "--scope",
            "user",
            "--account",
            "demo-trend",
            "--name",
            "bob",
            "-c",
            str(config),
        ],
    )
    assert made.exit_code == 0, made.output
    old = next(w for w in made.output.split() if w.startswith(tokens.TOKEN_MARK))

    rotated = runner.invoke(app, ["token", "rotate", "1", "--config", str(config)])
    assert rotated.exit_code == 0, rotated.output
    new = next(w for w in rotated.output.split() if w.startswith(tokens.TOKEN_MARK))
    assert new != old

    db = open_database(f"sqlite:///{db_file}")
    try:
        assert tokens.verify(db, old) is None
        fresh = tokens.verify(db, new)
        assert fresh is not None
        assert (fresh.scope, fresh.account_id, fresh.name) == ("user", "demo-trend", "bob")
        log = AuditLog(db)
        entries = log.tail(10)
        assert [e.action for e in entries] == ["token.create", "token.rotate"]
        assert entries[1].target == "1"
        assert entries[1].detail == {
            "replaced_by": new[: tokens.PREFIX_LEN],
            "scope": "user",
            "grace_minutes": 0,
        }
        assert log.verify().ok
        stored = " ".join(str(e) for e in entries)
        assert old not in stored and new not in stored
    finally:
        db.dispose()

    again = runner.invoke(app, ["token", "rotate", "1", "--config", str(config)])
    assert again.exit_code == 2
    assert "There is no active token '1'" in " ".join(again.output.split())


def test_rotate_with_a_grace_period_keeps_the_old_token_until_it_ends(tmp_path: Path) -> None:
    db_file = tmp_path / "r.db"
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{db_file}\n")
    made = runner.invoke(
        app, ["token", "create", "--scope", "admin", "--name", "ci", "-c", str(config)]
    )
    old = next(w for w in made.output.split() if w.startswith(tokens.TOKEN_MARK))
    rotated = runner.invoke(app, ["token", "rotate", "1", "--grace", "10", "-c", str(config)])
    assert rotated.exit_code == 0, rotated.output
    assert "stops working in 10 minutes" in " ".join(rotated.output.split())
    new = next(w for w in rotated.output.split() if w.startswith(tokens.TOKEN_MARK))

    db = open_database(f"sqlite:///{db_file}")
    try:
        retired = tokens.find_tokens(db, "1")[0]
        assert retired.revoked_at is not None
        before, after = retired.revoked_at - 1, retired.revoked_at
        assert tokens.verify(db, old, before) is not None  # inside the grace period
        assert tokens.verify(db, old, after) is None  # from its end on, refused
        assert tokens.verify(db, old) is None  # no time given: only never-revoked tokens
        assert tokens.verify(db, new, after) is not None
        # It is being retired: it cannot be rotated or revoked a second time.
        assert [t.id for t in tokens.list_tokens(db)] == [2]
    finally:
        db.dispose()
