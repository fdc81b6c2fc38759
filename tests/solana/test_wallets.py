"""Solana wallets stored as sealed credentials: created, imported (base58 or solana-keygen
JSON), checked, opened to the same keypair, never shown or logged, backed up and restored."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from solders.keypair import Keypair
from structlog.testing import LogCapture

from rampart.backup.create import create_backup, destination_for, list_backups
from rampart.backup.errors import BackupError
from rampart.backup.settings import BackupConfig
from rampart.backup.wallet_keys import (
    JOB_NAME,
    create_wallet_backup,
    restore_wallet_backup,
    wallet_destination,
    wallet_keys_job,
)
from rampart.clock import SimClock
from rampart.security import wallets
from rampart.security.credential_store import (
    delete_credentials,
    load_credentials,
    rotate,
    save_credentials,
)
from rampart.security.secrets import Credentials, KeyBox, generate_key
from rampart.store import models as m
from rampart.store.db import open_database


@pytest.fixture
def db(tmp_path: Path) -> sa.Engine:
    engine = open_database(f"sqlite:///{tmp_path / 'w.db'}")
    yield engine  # type: ignore[misc]
    engine.dispose()


@pytest.fixture
def raw_logs() -> Iterator[list[dict[str, Any]]]:
    """Every event as the code logged it, before any redaction (which would hide a leak)."""
    saved = structlog.get_config()
    capture = LogCapture()
    structlog.configure(
        processors=[capture], wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG)
    )
    try:
        yield capture.entries
    finally:
        structlog.configure(**saved)


@pytest.fixture
def box() -> KeyBox:
    return KeyBox.from_text(generate_key())


def test_created_wallet_opens_to_the_same_keypair_and_shows_only_the_public_key(
    db: sa.Engine, box: KeyBox, raw_logs: list[dict[str, Any]]
) -> None:
    wallet = wallets.create_wallet(db, box, "sol-1", 1_000)
    keypair = wallets.open_keypair(db, box, "sol-1")
    shown = wallets.show_wallet(db, box, "sol-1")
    logs = raw_logs
    assert keypair is not None and str(keypair.pubkey()) == wallet.pubkey
    assert shown == wallet and shown.key_id == box.key_id and shown.created_at == 1_000
    secret = str(keypair)
    assert secret not in repr(wallet) and secret not in repr(shown)
    creds = load_credentials(db, box, "sol-1")
    assert creds == Credentials("solana", wallet.pubkey, secret)
    assert secret not in repr(creds)
    assert logs and secret not in repr(logs)
    # The row holds neither half in clear text.
    with db.connect() as conn:
        row = conn.execute(sa.select(m.credentials)).one()
    assert secret.encode() not in row.ciphertext and wallet.pubkey.encode() not in row.ciphertext
    assert wallets.open_keypair(db, box, "nobody") is None


def test_import_base58_and_keygen_json_and_refuse_bad_keys_in_plain_words(
    db: sa.Engine, box: KeyBox, tmp_path: Path, raw_logs: list[dict[str, Any]]
) -> None:
    keypair = Keypair()
    secret = str(keypair)
    stored = wallets.store_keypair(db, box, "a", wallets.keypair_from_text(secret), 1)
    assert stored.pubkey == str(keypair.pubkey())
    assert raw_logs and secret not in repr(raw_logs)
    keygen = tmp_path / "id.json"
    keygen.write_text(json.dumps(list(bytes(keypair))))
    assert wallets.read_keypair_file(keygen).pubkey() == keypair.pubkey()

    other = Keypair()
    mismatched = bytes(keypair)[:32] + bytes(other.pubkey())
    cases = {
        "public half does not match": lambda: wallets.keypair_from_bytes(mismatched),
        "must be 64 bytes": lambda: wallets.keypair_from_base58(secret[:40]),
        "public key or a bare seed": lambda: wallets.keypair_from_base58(str(keypair.pubkey())),
        "not base58": lambda: wallets.keypair_from_base58(secret[:-1] + "0"),
        "not a solana-keygen keypair": lambda: wallets.keypair_from_json("[1, 2, 300]"),
        "cannot be read": lambda: wallets.read_keypair_file(tmp_path / "missing.json"),
        "empty": lambda: wallets.keypair_from_base58("  "),
    }
    for said, call in cases.items():
        with pytest.raises(wallets.WalletError) as caught:
            call()
        assert said in caught.value.message
        assert secret not in caught.value.message and secret[:40] not in caught.value.message


def test_a_stored_wallet_is_never_replaced_silently(db: sa.Engine, box: KeyBox) -> None:
    first = wallets.create_wallet(db, box, "a", 1)
    with pytest.raises(wallets.WalletError, match="already has a Solana wallet"):
        wallets.create_wallet(db, box, "a", 2)
    assert wallets.show_wallet(db, box, "a") == first
    again = wallets.open_keypair(db, box, "a")
    assert again is not None
    # The same keypair imported twice is not a replacement.
    assert wallets.store_keypair(db, box, "a", again, 3).pubkey == first.pubkey
    save_credentials(db, box, "b", Credentials("binance", "k" * 20, "s" * 20), 1)
    with pytest.raises(wallets.WalletError, match="binance credentials"):
        wallets.create_wallet(db, box, "b", 2)
    with pytest.raises(wallets.WalletError, match="not a Solana wallet"):
        wallets.show_wallet(db, box, "b")
    replaced = wallets.create_wallet(db, box, "a", 4, replace=True)
    assert replaced.pubkey != first.pubkey
    assert [a for a, _, _ in wallets.list_wallets(db)] == ["a"]


def test_master_key_rotation_reseals_wallets(db: sa.Engine, box: KeyBox) -> None:
    wallet = wallets.create_wallet(db, box, "a", 1)
    new = KeyBox.from_text(generate_key())
    assert rotate(db, box, new) == 1
    keypair = wallets.open_keypair(db, new, "a")
    assert keypair is not None and str(keypair.pubkey()) == wallet.pubkey


def test_export_writes_a_private_keygen_file_and_never_overwrites(
    db: sa.Engine, box: KeyBox, tmp_path: Path
) -> None:
    wallet = wallets.create_wallet(db, box, "a", 1)
    out = tmp_path / "backup.json"
    wallets.export_keypair(db, box, "a", out)
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert str(wallets.read_keypair_file(out).pubkey()) == wallet.pubkey
    with pytest.raises(wallets.WalletError, match="already exists"):
        wallets.export_keypair(db, box, "a", out)


def test_wallet_key_backup_restores_a_deleted_wallet(
    db: sa.Engine, box: KeyBox, tmp_path: Path
) -> None:
    wallet = wallets.create_wallet(db, box, "sol-1", 1)
    save_credentials(db, box, "cex", Credentials("binance", "k" * 20, "s" * 20), 1)
    key = bytes.fromhex(generate_key())
    cfg = BackupConfig(dir=tmp_path / "backups")
    dest = wallet_destination(cfg)
    info = create_wallet_backup(db, key, dest, 1_700_000_000_000)
    assert info is not None and info.rows == 1  # the wallet only, not the exchange key
    secret = str(wallets.open_keypair(db, box, "sol-1"))
    assert secret.encode() not in (cfg.dir / "wallet-keys" / info.name).read_bytes()
    # The database backups never see the wallet-key archives (list, prune, restore).
    assert list_backups(destination_for(cfg)) == []

    assert delete_credentials(db, "sol-1")
    with dest.local(info.name) as path:
        report = restore_wallet_backup(path, key, db, 2)
    assert report.restored == ["sol-1"] and report.key_ids == {box.key_id}
    keypair = wallets.open_keypair(db, box, "sol-1")
    assert keypair is not None and str(keypair.pubkey()) == wallet.pubkey

    # Again: nothing changes. A newer wallet on the account is kept unless replace.
    with dest.local(info.name) as path:
        assert restore_wallet_backup(path, key, db, 3).unchanged == ["sol-1"]
        newer = wallets.create_wallet(db, box, "sol-1", 4, replace=True)
        assert restore_wallet_backup(path, key, db, 5).kept == ["sol-1"]
        assert wallets.show_wallet(db, box, "sol-1") == newer
        assert restore_wallet_backup(path, key, db, 6, replace=True).restored == ["sol-1"]
    back = wallets.show_wallet(db, box, "sol-1")
    assert back is not None and back.pubkey == wallet.pubkey

    with dest.local(info.name) as path, pytest.raises(BackupError, match="another backup key"):
        restore_wallet_backup(path, bytes.fromhex(generate_key()), db, 7)


def test_a_database_backup_is_refused_as_a_wallet_backup(tmp_path: Path, box: KeyBox) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    db = open_database(url)
    try:
        wallets.create_wallet(db, box, "a", 1)
        key = bytes.fromhex(generate_key())
        dest = destination_for(BackupConfig(dir=tmp_path / "b"))
        info = create_backup(url, key, dest, 1_700_000_000_000)
        with dest.local(info.name) as path, pytest.raises(BackupError, match="database backup"):
            restore_wallet_backup(path, key, db, 2)
    finally:
        db.dispose()


def test_the_daily_job_backs_up_wallets_and_prunes(
    db: sa.Engine, box: KeyBox, tmp_path: Path
) -> None:
    from pydantic import SecretStr

    cfg = BackupConfig(dir=tmp_path / "backups", keep_last=2, keep_daily_days=0)
    master = SecretStr(generate_key())
    clock = SimClock(1_700_000_000_000)
    assert (
        wallet_keys_job(
            BackupConfig(enabled=False), master_key=master, vault=None, db=db, business=clock
        )
        is None
    )
    assert wallet_keys_job(cfg, master_key=None, vault=None, db=db, business=clock) is None
    job = wallet_keys_job(cfg, master_key=master, vault=None, db=db, business=clock)
    assert job is not None and job.name == JOB_NAME and job.every_ms == 24 * 3_600_000
    assert asyncio.run(job.run(0)) == "no wallets to back up"
    wallets.create_wallet(db, box, "a", 1)
    for day in range(3):
        clock.set(1_700_000_000_000 + day * 86_400_000)
        assert "1 wallets" in asyncio.run(job.run(0))
    assert len(wallet_destination(cfg).names()) == 2  # retention kept the newest two
