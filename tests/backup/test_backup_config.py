"""Backups carry the effective configuration, secrets masked; ``restore --with-config`` writes
it beside the restored database for review and never applies it."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rampart.backup.archive import config_of, header_of
from rampart.backup.create import create_backup
from rampart.backup.destinations import DirectoryDestination
from rampart.backup.errors import BackupError
from rampart.backup.restore import restore_backup
from rampart.cli.main import app
from rampart.config import load_settings
from rampart.domain.errors import ConfigError
from rampart.store.db import open_database

MASTER = secrets.token_hex(32)
BACKUP_KEY = secrets.token_hex(32)
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_PATH = "services/T0001/B0001/hookSecretPart42"
API_SECRET = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRETS = (MASTER, BACKUP_KEY, BOT_TOKEN, WEBHOOK_PATH, API_SECRET, "llm-key-abc123")


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "live.db"
    open_database(f"sqlite:///{db}").dispose()  # a fresh Rampart database
    cfg = tmp_path / "rampart.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "store": {"url": f"sqlite:///{db}"},
                "backup": {"dir": str(tmp_path / "backups")},
                "alerts": {"webhook_url": f"https://hooks.example.invalid/{WEBHOOK_PATH}"},
                "venue": {
                    "credentials": {"demo-trend": {"api_key": "k" * 40, "secret": API_SECRET}}
                },
                "logging": {"rotate_mb": 7},
            }
        )
    )
    env = {
        "RAMPART_MASTER_KEY": MASTER,
        "RAMPART_BACKUP__KEY": BACKUP_KEY,
        "RAMPART_TELEGRAM_TOKEN": BOT_TOKEN,
        "RAMPART_LLM__API_KEY": "llm-key-abc123",
    }
    return cfg, env


def _cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_restore_with_config_writes_the_masked_configuration_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, env = _setup(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert "with the configuration" in _cli(env, "backup", "create", "--config", str(cfg))

    target = tmp_path / "restored" / "rampart.db"
    out = _cli(
        env, "backup", "restore", "latest", "--to", f"sqlite:///{target}", "--with-config",
        "--config", str(cfg),
    )  # fmt: skip
    review = target.with_name("rampart.db.config.yaml")
    assert str(review) in " ".join(out.split()) and "nothing in it was applied" in out
    text = review.read_text()
    for secret in SECRETS:
        assert secret not in text, secret
    assert stat.S_IMODE(review.stat().st_mode) == 0o600
    written = yaml.safe_load(text)
    settings = written["settings"]
    assert settings["master_key"] == settings["telegram_token"] == "********"
    assert settings["backup"]["key"] == "********"
    assert settings["venue"]["credentials"]["demo-trend"]["secret"] == "********"
    assert settings["alerts"]["webhook_url"] == "https://hooks.example.invalid/********"
    assert settings["logging"]["rotate_mb"] == 7  # the rest is the operator's, as it was
    assert settings["store"]["url"] == f"sqlite:///{tmp_path / 'live.db'}"
    assert written["made_from"]["backup"].startswith("rampart-")
    # Not a settings file Rampart would run on by mistake: masked secrets are never restored.
    with pytest.raises(ConfigError, match="made_from"):
        load_settings(review)

    # Without --with-config, no file.
    plain = tmp_path / "plain.db"
    _cli(env, "backup", "restore", "latest", "--to", f"sqlite:///{plain}", "--config", str(cfg))
    assert not plain.with_name("plain.db.config.yaml").exists()
    other = f"sqlite:///{tmp_path / 'x.db'}"
    _cli(env, "backup", "restore", "latest", "--to", other, "--with-config", "-c", str(cfg))
    assert (tmp_path / "x.db.config.yaml").exists()  # another target: its own review file


def test_an_existing_review_file_or_a_backup_without_configuration_is_refused_first(
    tmp_path: Path,
) -> None:
    key = os.urandom(32)
    source = tmp_path / "src.db"
    open_database(f"sqlite:///{source}").dispose()
    dest = DirectoryDestination(tmp_path / "backups")
    old = dest.path / create_backup(f"sqlite:///{source}", key, dest, 1_700_000_000_000).name
    target = tmp_path / "t.db"
    with pytest.raises(BackupError, match="holds no configuration"):
        restore_backup(old, key, f"sqlite:///{target}", 1, with_config=True)
    assert not target.exists()

    new = create_backup(
        f"sqlite:///{source}", key, dest, 1_700_000_001_000, config={"mode": "paper"}
    )
    path = dest.path / new.name
    assert header_of(path).manifest["config"] is True
    assert config_of(header_of(path), key, new.name) == {"mode": "paper"}
    with pytest.raises(BackupError, match="another backup key"):
        config_of(header_of(path), os.urandom(32), new.name)
    review = tmp_path / "t.db.config.yaml"
    review.write_text("mine")
    with pytest.raises(BackupError, match="already exists"):
        restore_backup(path, key, f"sqlite:///{target}", 1, with_config=True)
    assert review.read_text() == "mine" and not target.exists()
    report = restore_backup(path, key, f"sqlite:///{target}", 1, with_config=True, force=True)
    assert report.config_file == review and "paper" in review.read_text()
