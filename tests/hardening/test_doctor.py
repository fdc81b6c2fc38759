"""``rampart doctor``: a sound deployment passes; each unsafe setting is named with its fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.clock import WallClock
from rampart.config import Settings, load_settings
from rampart.runtime.hosts import is_loopback
from rampart.security.secrets import generate_key
from rampart.security.tokens import create_token
from rampart.store.audit import AuditLog
from rampart.store.db import open_database
from rampart.store.models.audit import audit_log
from rampart.store.ops_records import BACKUP_CREATED, record_event
from rampart.wiring.doctor import Check, run_checks

NOW = 1_767_225_600_000
HOUR = 3_600_000
runner = CliRunner()


def _settings(tmp_path: Path, **over: Any) -> Settings:
    base: dict[str, Any] = {
        "store": {"url": f"sqlite:///{tmp_path / 'rampart.db'}"},
        "master_key": generate_key(),
        "telegram_token": "123:abc",
        "telegram": {"operator_ids": [42]},
    }
    base.update(over)
    return load_settings(**base)


def _deploy(
    tmp_path: Path, *, backup_age_h: float | None = 1.0, admin: bool = True, now: int = NOW
) -> sa.Engine:
    path = tmp_path / "rampart.db"
    db = open_database(f"sqlite:///{path}")
    if admin:
        create_token(db, "admin", None, "ops", NOW)
    if backup_age_h is not None:
        record_event(db, BACKUP_CREATED, now - int(backup_age_h * HOUR), "backup", {})
    AuditLog(db).record(NOW, "cli", "token.create", "rp_x")
    for f in tmp_path.glob("rampart.db*"):
        os.chmod(f, 0o600)
    return db


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_sound_deployment_passes_every_check(tmp_path: Path) -> None:
    _deploy(tmp_path).dispose()
    checks = run_checks(_settings(tmp_path), NOW)
    assert [c.status for c in checks] == ["OK"] * 11, checks
    assert _by_name(checks)["audit log"].message.startswith("intact, 1 entry")


def test_the_cli_exits_0_when_sound_and_1_naming_the_fix(tmp_path: Path) -> None:
    db = _deploy(tmp_path, now=WallClock().now_ms())  # the CLI reads the wall clock
    config = tmp_path / "rampart.yaml"
    config.write_text(f"store:\n  url: sqlite:///{tmp_path / 'rampart.db'}\n")
    env = {"RAMPART_MASTER_KEY": generate_key(), "RAMPART_TELEGRAM_TOKEN": "1:x"}
    env["RAMPART_TELEGRAM__OPERATOR_IDS"] = "[42]"
    ok = runner.invoke(app, ["doctor", "--config", str(config)], env=env)
    assert ok.exit_code == 0, ok.output
    assert "11 checks: 0 to fix, 0 to look at." in ok.output

    os.chmod(tmp_path / "rampart.db", 0o644)
    db.dispose()
    bad = runner.invoke(app, ["doctor", "--config", str(config)], env=env)
    assert bad.exit_code == 1
    said = " ".join(bad.output.split())
    assert "FAIL database file:" in said
    assert f"run `chmod 600 {tmp_path / 'rampart.db'}`" in said


@pytest.mark.parametrize(
    ("over", "name", "status", "needle"),
    [
        ({"api": {"host": "0.0.0.0"}}, "API bind", "FAIL", "api.behind_tls_proxy: true"),
        ({"api": {"host": "0.0.0.0", "behind_tls_proxy": True}}, "API bind", "OK", "TLS proxy"),
        (
            {"api": {"host": "0.0.0.0", "tls_cert": "a.crt", "tls_key": "a.key"}},
            "API bind",
            "OK",
            "in HTTPS",
        ),
        ({"api": {"cors_origins": ["*"]}}, "CORS", "WARN", "every origin"),
        ({"telegram": {"operator_ids": []}}, "Telegram operators", "FAIL", "nobody can use"),
        ({"telegram_token": None}, "Telegram operators", "WARN", "RAMPART_TELEGRAM_TOKEN"),
        ({"master_key": None}, "master key", "WARN", "rampart secrets generate"),
        ({"master_key": None, "mode": "live"}, "master key", "FAIL", "rampart secrets generate"),
        ({"master_key": "not-a-key"}, "master key", "FAIL", "cannot be used"),
    ],
)
def test_settings_checks(
    tmp_path: Path, over: dict[str, Any], name: str, status: str, needle: str
) -> None:
    _deploy(tmp_path).dispose()
    check = _by_name(run_checks(_settings(tmp_path, **over), NOW))[name]
    assert check.status == status, check
    assert needle in check.message


def test_missing_admin_token_and_stale_or_absent_backups_fail(tmp_path: Path) -> None:
    _deploy(tmp_path, backup_age_h=12.5, admin=False).dispose()
    checks = _by_name(run_checks(_settings(tmp_path), NOW))
    assert checks["admin tokens"].status == "FAIL"
    assert "rampart token create --scope admin" in checks["admin tokens"].message
    assert checks["backups"].status == "FAIL"
    assert "12.5 h old (over twice the 6 h interval)" in checks["backups"].message
    # A longer configured interval makes the same backup recent enough.
    relaxed = _by_name(run_checks(_settings(tmp_path, backup={"every_hours": 12}), NOW))
    assert relaxed["backups"].status == "OK"


def test_no_backup_ever_fails(tmp_path: Path) -> None:
    _deploy(tmp_path, backup_age_h=None).dispose()
    check = _by_name(run_checks(_settings(tmp_path), NOW))["backups"]
    assert (check.status, check.message) == (
        "FAIL",
        "no backup was ever made; run `rampart backup create` and schedule it.",
    )


def test_a_tampered_audit_log_fails(tmp_path: Path) -> None:
    db = _deploy(tmp_path)
    with db.begin() as conn:
        conn.execute(audit_log.update().values(actor="someone"))
    db.dispose()
    check = _by_name(run_checks(_settings(tmp_path), NOW))["audit log"]
    assert check.status == "FAIL"
    assert check.message.startswith("Entry 1 was edited")


def test_a_missing_or_corrupt_database_is_named_without_creating_it(tmp_path: Path) -> None:
    checks = run_checks(_settings(tmp_path), NOW)
    assert checks[-1].status == "FAIL" and "does not exist yet" in checks[-1].message
    assert not (tmp_path / "rampart.db").exists()

    garbage = b"garbage bytes, not sqlite\n" * 100
    (tmp_path / "rampart.db").write_bytes(garbage)
    os.chmod(tmp_path / "rampart.db", 0o600)
    checks = run_checks(_settings(tmp_path), NOW)
    assert checks[-1].status == "FAIL"
    assert checks[-1].message.endswith("(file is corrupt or of another kind).")
    assert (tmp_path / "rampart.db").read_bytes() == garbage


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop
