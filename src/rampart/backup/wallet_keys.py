"""The daily wallet-key backup: just the Solana wallet rows, in their own small archive.

Database backups already hold the credentials table; this one exists so the keys that hold
money on chain have a fresh copy every day even when database backups are rare or slow, and
so they can be put back into a live database without restoring everything else.

Each archive is the usual backup container (:mod:`rampart.backup.archive`, encrypted under the
backup key) holding the rows exactly as stored: each wallet is still sealed under the master
key inside it, so reading a wallet back needs both keys. Archives live in a ``wallet-keys``
sub-folder of the backup destination (``backup.dir/wallet-keys/`` or ``<s3_prefix>wallet-keys/``)
which the database backups' list, prune and restore never see, and are pruned with the same
retention. ``rampart wallet restore`` puts the rows back (see docs/operations/backup.md).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import sqlalchemy as sa
import structlog
from pydantic import SecretStr

from rampart.backup import manifest as mf
from rampart.backup.archive import Encryptor, decrypt
from rampart.backup.create import (
    BackupInfo,
    _audit,
    backup_name,
    destination_for,
    prune,
    write_staged,
)
from rampart.backup.destinations import Destination
from rampart.backup.errors import BackupError
from rampart.backup.keys import backup_key
from rampart.clock import Clock
from rampart.domain.errors import RampartError
from rampart.runtime.scheduler import HOUR_MS, Job
from rampart.security.wallets import EXCHANGE
from rampart.store import models as m

if TYPE_CHECKING:
    from rampart.backup.settings import BackupConfig
    from rampart.security.settings import VaultConfig

log = structlog.get_logger("rampart.backup")
JOB_NAME = "wallet-keys"
FOLDER = "wallet-keys"
KIND = "wallet-keys"
EVERY_MS = 24 * HOUR_MS


def wallet_destination(cfg: BackupConfig, directory: Path | None = None) -> Destination:
    """The ``wallet-keys`` folder of the backup destination (``directory`` overrides it)."""
    inner = cfg.model_copy(
        update={"dir": cfg.dir / FOLDER, "s3_prefix": f"{cfg.s3_prefix}{FOLDER}/"}
    )
    return destination_for(inner, None if directory is None else directory / FOLDER)


def _rows(db: sa.Engine) -> list[dict[str, Any]]:
    c = m.credentials.c
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(m.credentials).where(c.exchange == EXCHANGE).order_by(c.account_id)
        ).all()
    return [
        {
            "account_id": r.account_id,
            "exchange": r.exchange,
            "ciphertext": base64.b64encode(r.ciphertext).decode(),
            "nonce": base64.b64encode(r.nonce).decode(),
            "key_id": r.key_id,
            "created_at": int(r.created_at),
        }
        for r in rows
    ]


def create_wallet_backup(
    db: sa.Engine,
    key: bytes,
    dest: Destination,
    now_ms: int,
    *,
    actor: str = "operator",
) -> BackupInfo | None:
    """Write the wallet rows of ``db`` to ``dest``; None when there is no wallet to back up."""
    rows = _rows(db)
    if not rows:
        return None
    started = time.perf_counter()
    name = backup_name(now_ms, "wallets")
    manifest = mf.build(
        backend=KIND,
        created_at=now_ms,
        revision=None,
        tables={"credentials": len(rows)},
        source="solana wallet rows of the credentials table",
        extra={"kind": KIND},
    )
    payload = json.dumps({"wallets": rows}, sort_keys=True).encode()

    def fill(out: BinaryIO, _folder: Path) -> None:
        box = Encryptor(out, key, manifest)
        box.write(payload)
        box.close()

    _, size, _cleared = write_staged(dest, name, fill)
    info = BackupInfo(name, dest.label, manifest, size, time.perf_counter() - started)
    detail = {"name": name, "where": dest.label, "wallets": len(rows), "bytes": size}
    # Not a BACKUP_CREATED ops event: the rollout gates ask for database backups.
    _audit(db, now_ms, actor, "backup.wallet_keys", name, detail)
    log.info("wallet key backup created", **detail)
    return info


@dataclass(slots=True)
class WalletRestore:
    name: str
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Accounts that hold other credentials now and were left alone (no ``replace``)."""
    key_ids: set[str] = field(default_factory=set)
    """The master keys (fingerprints) the restored rows are sealed under."""


def read_wallet_backup(path: Path, key: bytes) -> list[dict[str, Any]]:
    """The wallet rows of an authenticated wallet-key backup (refused whole if anything is off)."""
    buf = bytearray()
    try:
        with path.open("rb") as src:
            header, _ = decrypt(src, key, path.name, buf.extend)
    except FileNotFoundError:
        raise BackupError(f"There is no backup file at {path}.") from None
    if header.manifest.get("kind") != KIND:
        raise BackupError(
            f"{path.name} is a database backup, not a wallet-key backup; restore it with "
            "`rampart backup restore`."
        )
    try:
        rows = list(json.loads(bytes(buf))["wallets"])
        for row in rows:
            row["ciphertext"] = base64.b64decode(row["ciphertext"])
            row["nonce"] = base64.b64decode(row["nonce"])
    except (ValueError, KeyError, TypeError):
        raise BackupError(f"{path.name} is damaged: its wallet list is not readable.") from None
    mf.require_match(header.manifest, {"credentials": len(rows)}, path.name)
    return rows


def restore_wallet_backup(
    path: Path, key: bytes, db: sa.Engine, now_ms: int, *, replace: bool = False
) -> WalletRestore:
    """Put the wallet rows of ``path`` back into ``db``, in one transaction.

    An account with no credentials gets its row back; one holding the very same row is left as
    it is; one holding anything else (a newer wallet, an exchange key) is kept unless
    ``replace``. Rows go back sealed as they were: they open with the master key they were
    saved under (``key_ids``), so restore before rotating to a new master key, or rotate again.
    """
    rows = read_wallet_backup(path, key)
    report = WalletRestore(path.name)
    table = m.credentials
    with db.begin() as conn:
        for row in rows:
            account = str(row["account_id"])
            if row.get("exchange") != EXCHANGE:
                raise BackupError(
                    f"{path.name} holds a row that is not a wallet; nothing restored."
                )
            now = conn.execute(sa.select(table).where(table.c.account_id == account)).first()
            if now is not None and bytes(now.ciphertext) == row["ciphertext"]:
                report.unchanged.append(account)
                continue
            if now is not None and not replace:
                report.kept.append(account)
                continue
            conn.execute(sa.delete(table).where(table.c.account_id == account))
            conn.execute(sa.insert(table).values(**row))
            report.restored.append(account)
            report.key_ids.add(str(row["key_id"]))
    detail = {"name": path.name, "restored": report.restored, "kept": report.kept}
    _audit(db, now_ms, "operator", "backup.wallet_keys_restore", path.name, detail)
    log.info("wallet keys restored", **detail)
    return report


def wallet_keys_job(
    cfg: BackupConfig,
    *,
    master_key: SecretStr | None,
    vault: VaultConfig | None,
    db: sa.Engine,
    business: Clock,
) -> Job | None:
    """The daily wallet-key backup for the scheduler; None (and a warning) when it cannot run."""
    if not cfg.enabled:
        return None
    try:
        key = backup_key(cfg.key, master_key, vault)
    except RampartError as err:
        log.warning("wallet key backups are off", reason=err.message)
        return None

    async def run(slot_ms: int) -> str:
        del slot_ms
        dest = wallet_destination(cfg)
        now = business.now_ms()
        info = await asyncio.to_thread(create_wallet_backup, db, key, dest, now, actor="scheduler")
        if info is None:
            return "no wallets to back up"
        pruned = await asyncio.to_thread(prune, dest, now, cfg.keep_last, cfg.keep_daily_days)
        return f"{info.name}: {info.rows} wallets; pruned {len(pruned)}"

    return Job(JOB_NAME, EVERY_MS, run, catch_up_first=True)
