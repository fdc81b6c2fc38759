"""Solana wallets of investors and operators: an ed25519 keypair (solders) per account.

A wallet is stored like an exchange key, as encrypted credentials (:mod:`rampart.security.
secrets`): ``Credentials(exchange="solana", api_key=<public key, base58>, secret=<the 64-byte
keypair, base58>)`` sealed with AES-GCM under the master key, the associated data binding the
account and "solana". Rotation (``rampart secrets rotate``), deletion and the database backups
therefore cover wallets with no code of their own.

The secret half never leaves this module except through :func:`open_keypair` (to sign) and
:func:`export_keypair` (an operator's deliberate backup). Nothing here puts it in a repr, a log
line or an error message: every error is one sentence about the input's shape, never its text.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from solders.keypair import Keypair

from rampart.observability.logging import register_secret
from rampart.security.credential_store import save_credentials
from rampart.security.keypairs import (  # re-exported: wallets are read and stored through here
    EXCHANGE as EXCHANGE,
)
from rampart.security.keypairs import (
    KEYPAIR_BYTES as KEYPAIR_BYTES,
)
from rampart.security.keypairs import (
    Wallet as Wallet,
)
from rampart.security.keypairs import (
    WalletError as WalletError,
)
from rampart.security.keypairs import (
    credentials_of as credentials_of,
)
from rampart.security.keypairs import (
    keypair_from_base58 as keypair_from_base58,
)
from rampart.security.keypairs import (
    keypair_from_bytes as keypair_from_bytes,
)
from rampart.security.keypairs import (
    keypair_from_json as keypair_from_json,
)
from rampart.security.keypairs import (
    keypair_from_text as keypair_from_text,
)
from rampart.security.keypairs import (
    read_keypair_file as read_keypair_file,
)
from rampart.security.secrets import Credentials, KeyBox, Sealed
from rampart.store import models as m

log = structlog.get_logger("rampart.wallets")

_ACCOUNT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _check_account(account_id: str) -> str:
    account_id = account_id.strip()
    if not _ACCOUNT.match(account_id):
        raise WalletError(
            "An account name is 1 to 64 letters, digits, '.', '_', ':' or '-'; "
            f"{account_id!r} is not one."
        )
    return account_id


def _row(db: sa.Engine, account_id: str) -> Any | None:
    with db.connect() as conn:
        return conn.execute(
            sa.select(m.credentials).where(m.credentials.c.account_id == account_id)
        ).first()


def store_keypair(
    db: sa.Engine,
    box: KeyBox,
    account_id: str,
    keypair: Keypair,
    now_ms: int,
    *,
    replace: bool = False,
) -> Wallet:
    """Seal ``keypair`` as ``account_id``'s wallet.

    An account holds one set of credentials: a stored wallet (or exchange key) is replaced only
    with ``replace``, since the only other copy of a wallet's secret may be this one.
    """
    account_id = _check_account(account_id)
    creds = credentials_of(keypair)
    existing = _row(db, account_id)
    if existing is not None and not replace:
        if existing.exchange == EXCHANGE:
            held = box.open(account_id, EXCHANGE, _sealed(existing)).api_key
            if held == creds.api_key:
                return _wallet(account_id, held, existing)
            what = f"a Solana wallet ({held})"
        else:
            what = f"{existing.exchange} credentials"
        raise WalletError(
            f"Account {account_id} already has {what}; replacing it loses the only stored "
            "copy, so say so explicitly (--replace) after backing it up."
        )
    save_credentials(db, box, account_id, creds, now_ms)
    log.info("wallet_stored", account=account_id, pubkey=creds.api_key, key_id=box.key_id)
    return Wallet(account_id, creds.api_key, box.key_id, now_ms)


def create_wallet(
    db: sa.Engine, box: KeyBox, account_id: str, now_ms: int, *, replace: bool = False
) -> Wallet:
    """A new random keypair, stored as ``account_id``'s wallet."""
    return store_keypair(db, box, account_id, Keypair(), now_ms, replace=replace)


def _sealed(row: Any) -> Sealed:
    return Sealed(row.ciphertext, row.nonce, row.key_id)


def _wallet(account_id: str, pubkey: str, row: Any) -> Wallet:
    return Wallet(account_id, pubkey, str(row.key_id), int(row.created_at))


def _opened(db: sa.Engine, box: KeyBox, account_id: str) -> tuple[Credentials, Wallet] | None:
    row = _row(db, account_id.strip())
    if row is None:
        return None
    if row.exchange != EXCHANGE:
        raise WalletError(
            f"Account {account_id} holds {row.exchange} credentials, not a Solana wallet."
        )
    creds = box.open(account_id.strip(), EXCHANGE, _sealed(row))
    return creds, _wallet(account_id.strip(), creds.api_key, row)


def show_wallet(db: sa.Engine, box: KeyBox, account_id: str) -> Wallet | None:
    """The public side of ``account_id``'s wallet; None when it has none."""
    found = _opened(db, box, account_id)
    return None if found is None else found[1]


def open_keypair(db: sa.Engine, box: KeyBox, account_id: str) -> Keypair | None:
    """The keypair to sign with; None when the account has no wallet."""
    found = _opened(db, box, account_id)
    if found is None:
        return None
    creds, wallet = found
    register_secret(creds.secret)
    keypair = keypair_from_base58(creds.secret)
    if str(keypair.pubkey()) != wallet.pubkey:
        raise WalletError(f"The stored wallet of {account_id} does not match its public key.")
    return keypair


def list_wallets(db: sa.Engine) -> list[tuple[str, str, int]]:
    """(account, master key id, created) of every stored wallet; no key is needed."""
    c = m.credentials.c
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(c.account_id, c.key_id, c.created_at)
            .where(c.exchange == EXCHANGE)
            .order_by(c.account_id)
        ).all()
    return [(r.account_id, r.key_id, int(r.created_at)) for r in rows]


def export_keypair(db: sa.Engine, box: KeyBox, account_id: str, path: Path) -> Wallet:
    """Write ``account_id``'s keypair to a new file, solana-keygen's JSON format, mode 0600.

    An existing file is never overwritten (it may be another wallet's only copy)."""
    keypair = open_keypair(db, box, account_id)
    wallet = show_wallet(db, box, account_id)
    if keypair is None or wallet is None:
        raise WalletError(f"Account {account_id} has no Solana wallet.")
    body = json.dumps(list(bytes(keypair))).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise WalletError(f"{str(path)!r} already exists; export to a new file.") from None
    except OSError as err:
        raise WalletError(f"Cannot write {str(path)!r}: {err.strerror or 'refused'}.") from None
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    log.info("wallet_exported", account=account_id, pubkey=wallet.pubkey)
    return wallet


__all__ = [
    "EXCHANGE",
    "Wallet",
    "WalletError",
    "create_wallet",
    "credentials_of",
    "export_keypair",
    "keypair_from_base58",
    "keypair_from_bytes",
    "keypair_from_json",
    "keypair_from_text",
    "list_wallets",
    "open_keypair",
    "read_keypair_file",
    "show_wallet",
    "store_keypair",
]
