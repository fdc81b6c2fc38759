"""``rampart wallet``: create, import (file or stdin), show, list, export, rotate, backup and
restore through the real command line; the secret is in no output, errors are one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from solders.keypair import Keypair
from typer.testing import CliRunner

from rampart.cli.main import app
from rampart.security import wallets
from rampart.security.credential_store import delete_credentials
from rampart.security.secrets import KeyBox, generate_key
from rampart.store.db import open_database


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    key = generate_key()
    monkeypatch.setenv("RAMPART_STORE__URL", url)
    monkeypatch.setenv("RAMPART_MASTER_KEY", key)
    monkeypatch.setenv("RAMPART_BACKUP__DIR", str(tmp_path / "backups"))
    monkeypatch.chdir(tmp_path)
    return url, key


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _open(url: str, key: str, account: str) -> Keypair | None:
    db = open_database(url)
    try:
        return wallets.open_keypair(db, KeyBox.from_text(key), account)
    finally:
        db.dispose()


def test_create_show_list_and_export(env: tuple[str, str], tmp_path: Path) -> None:
    url, key = env
    code, out = _run("wallet", "create", "sol-1")
    assert code == 0, out
    keypair = _open(url, key, "sol-1")
    assert keypair is not None
    pubkey, secret = str(keypair.pubkey()), str(keypair)
    assert pubkey in out and secret not in out
    code, out = _run("wallet", "show", "sol-1")
    assert code == 0 and pubkey in out and KeyBox.from_text(key).key_id in out
    assert secret not in out
    code, out = _run("wallet", "list")
    assert code == 0 and "sol-1" in out and secret not in out
    code, out = _run("wallet", "create", "sol-1")
    assert code == 2 and "already has a Solana wallet" in out and "--replace" in out
    exported = tmp_path / "sol-1.json"
    code, out = _run("wallet", "export", "sol-1", "--file", str(exported))
    assert code == 0 and secret not in out
    assert list(bytes(keypair)) == json.loads(exported.read_text())
    code, out = _run("wallet", "show", "nobody")
    assert code == 2 and "has no Solana wallet" in out


def test_import_from_file_and_stdin_with_plain_refusals(
    env: tuple[str, str], tmp_path: Path
) -> None:
    url, key = env
    from_file, from_stdin = Keypair(), Keypair()
    keygen = tmp_path / "id.json"
    keygen.write_text(json.dumps(list(bytes(from_file))))
    code, out = _run("wallet", "import", "a", "--file", str(keygen))
    assert code == 0 and str(from_file.pubkey()) in out
    secret = str(from_stdin)
    code, out = _run("wallet", "import", "b", "--secret-stdin", stdin=secret + "\n")
    assert code == 0 and str(from_stdin.pubkey()) in out and secret not in out
    opened = _open(url, key, "b")
    assert opened is not None and opened.pubkey() == from_stdin.pubkey()

    damaged = secret[:-3] + ("111" if not secret.endswith("111") else "222")
    for args, stdin, said in (
        (["--secret-stdin"], damaged, "does not match"),
        (["--secret-stdin"], secret[:30], "must be 64 bytes"),
        (["--secret-stdin"], "not-base58-0OIl", "not base58"),
        (["--file", str(tmp_path / "none.json")], None, "cannot be read"),
        ([], None, "--file PATH or --secret-stdin"),
    ):
        code, out = _run("wallet", "import", "c", *args, stdin=stdin)
        assert code == 2 and said in out, out
        assert secret[:20] not in out
    assert _open(url, key, "c") is None


def test_rotate_reseals_wallets_under_the_new_master_key(
    env: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, key = env
    _run("wallet", "create", "a")
    before = _open(url, key, "a")
    assert before is not None
    new = generate_key()
    monkeypatch.setenv("RAMPART_NEW_MASTER_KEY", new)
    code, out = _run("wallet", "rotate")
    assert code == 0 and "Re-encrypted 1 credential" in out, out
    after = _open(url, new, "a")
    assert after is not None and after.pubkey() == before.pubkey()


def test_backup_then_restore_puts_a_deleted_wallet_back(env: tuple[str, str]) -> None:
    url, key = env
    code, out = _run("wallet", "backup")
    assert code == 0 and "nothing to back up" in out
    _run("wallet", "create", "a")
    before = _open(url, key, "a")
    assert before is not None
    code, out = _run("wallet", "backup")
    assert code == 0 and "1 wallets" in out and "wallet-keys" in out, out
    db = open_database(url)
    try:
        assert delete_credentials(db, "a")
    finally:
        db.dispose()
    assert _open(url, key, "a") is None
    code, out = _run("wallet", "restore")
    assert code == 0 and "Restored 1 wallets" in out, out
    after = _open(url, key, "a")
    assert after is not None and after.pubkey() == before.pubkey()
    code, out = _run("wallet", "restore", "rampart-nope.rbk")
    assert code == 2 and "no wallet-key backup" in out
