"""The master key from HashiCorp Vault (KV v2) through the real hvac client, against a local
stand-in: the key opens what it sealed; a wrong token, a missing path, a missing field and an
unreachable server each give one sentence that quotes neither token nor key; `rampart secrets
rotate` works with a Vault-held key and says how to store the new one."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.config import VaultConfig
from rampart.domain.errors import ConfigError
from rampart.security.credential_store import load_credentials, save_credentials
from rampart.security.secrets import Credentials, KeyBox, generate_key, load_key_box
from rampart.store.db import open_database
from tests.security.vault_server import FakeVault

TOKEN = "hvs.CAESIJx4mQ3rTt7Zk2pWqA9bC1dE5fG7hJ8kL0mN2oP4qR6s"
CREDS = Credentials("binance", "k" * 40, "s" * 40)


def _config(url: str, token: str | None = TOKEN, **kw: str) -> VaultConfig:
    return VaultConfig(url=url, token=token, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_key_comes_from_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key()
    with FakeVault(TOKEN) as vault:
        vault.put("secret", "rampart/master-key", {"master_key": key})
        box = load_key_box(None, _config(vault.url))
        assert box.key_id == KeyBox.from_text(key).key_id
        assert vault.requests == [("GET", "/v1/secret/data/rampart/master-key", TOKEN)]
        # Another mount, path and field; the token from VAULT_TOKEN.
        vault.put("kv", "prod/rampart", {"aes": key})
        monkeypatch.setenv("VAULT_TOKEN", TOKEN)
        other = load_key_box(
            None, _config(vault.url, None, mount="kv", path="prod/rampart", field="aes")
        )
        assert other.key_id == box.key_id
        assert vault.requests[-1] == ("GET", "/v1/kv/data/prod/rampart", TOKEN)


def test_vault_failures_are_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    key = generate_key()
    with FakeVault(TOKEN) as vault:
        vault.put("secret", "rampart/master-key", {"master_key": key})
        vault.put("secret", "rampart/empty", {"other": "x"})
        cases = {
            "token is wrong": _config(vault.url, "hvs.wrong-token"),
            "has no secret at secret/rampart/nope": _config(vault.url, path="rampart/nope"),
            "has no 'master_key'": _config(vault.url, path="rampart/empty"),
            "Set vault.token (or VAULT_TOKEN)": _config(vault.url, None),
        }
        for expected, config in cases.items():
            with pytest.raises(ConfigError) as err:
                load_key_box(None, config)
            assert expected in err.value.message
            assert TOKEN not in err.value.message and key not in err.value.message
            assert "\n" not in err.value.message
        with pytest.raises(ConfigError, match="keep the master key in one place"):
            load_key_box(key, _config(vault.url))
    with pytest.raises(ConfigError, match="cannot be reached"):
        load_key_box(None, _config(f"http://127.0.0.1:{_free_port()}"))


def test_cli_rotate_with_a_vault_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    old_key, new_key = generate_key(), generate_key()
    db = open_database(url)
    save_credentials(db, KeyBox.from_text(old_key), "acct", CREDS, 1)
    db.dispose()
    new_file = tmp_path / "new.key"
    new_file.write_text(new_key)
    monkeypatch.delenv("RAMPART_MASTER_KEY", raising=False)
    monkeypatch.delenv("RAMPART_NEW_MASTER_KEY", raising=False)
    monkeypatch.setenv("RAMPART_STORE__URL", url)
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    with FakeVault(TOKEN) as vault:
        vault.put("secret", "rampart/master-key", {"master_key": old_key})
        monkeypatch.setenv("RAMPART_VAULT__URL", vault.url)
        result = CliRunner().invoke(app, ["secrets", "rotate", "--new-key-file", str(new_file)])
        assert result.exit_code == 0, result.output
        out = result.output
        assert "Re-encrypted 1 credential" in out
        assert f"vault kv put -mount=secret rampart/master-key master_key=@{new_file}" in out
        assert old_key not in out and new_key not in out and TOKEN not in out
        monkeypatch.setenv("VAULT_TOKEN", "hvs.wrong")
        refused = CliRunner().invoke(app, ["secrets", "rotate", "--new-key-file", str(new_file)])
        assert refused.exit_code != 0 and "token is wrong" in refused.output
        assert "Traceback" not in refused.output
    db = open_database(url)
    assert load_credentials(db, KeyBox.from_text(new_key), "acct") == CREDS
    db.dispose()


def test_backups_use_the_master_key_held_in_vault(tmp_path: Path) -> None:
    from rampart.backup.create import create_backup
    from rampart.backup.destinations import DirectoryDestination
    from rampart.backup.errors import BackupError
    from rampart.backup.keys import backup_key
    from rampart.backup.restore import verify_backup

    key = generate_key()
    source = f"sqlite:///{tmp_path / 'r.db'}"
    open_database(source).dispose()
    with FakeVault(TOKEN) as vault:
        vault.put("secret", "rampart/master-key", {"master_key": key})
        from_vault = backup_key(None, None, _config(vault.url))
    assert from_vault == bytes.fromhex(key)
    dest = DirectoryDestination(tmp_path / "backups")
    made = create_backup(source, from_vault, dest, 1_767_225_600_000)
    assert verify_backup(tmp_path / "backups" / made.name, bytes.fromhex(key)).name == made.name
    with pytest.raises(BackupError, match="No backup key is set"):
        backup_key(None, None, VaultConfig())
