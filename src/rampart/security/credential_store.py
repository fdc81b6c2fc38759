"""Exchange credentials kept in the store, sealed with the master key
(:class:`~rampart.security.secrets.KeyBox`): saved, read, deleted and re-sealed under a new key.

Apart from :mod:`rampart.security.secrets` (the keys and the sealing, no store) so that a front
that needs a ``KeyBox`` or ``Credentials`` does not reach the store through it; the
facade reads and writes credentials with these.
"""

from __future__ import annotations

import sqlalchemy as sa

from rampart.security.secrets import Credentials, KeyBox, Sealed
from rampart.store import models as m


def save_credentials(
    db: sa.Engine, box: KeyBox, account_id: str, creds: Credentials, now_ms: int
) -> None:
    sealed = box.seal(account_id, creds)
    row = {
        "account_id": account_id,
        "exchange": creds.exchange,
        "ciphertext": sealed.ciphertext,
        "nonce": sealed.nonce,
        "key_id": sealed.key_id,
        "created_at": now_ms,
    }
    with db.begin() as conn:
        conn.execute(sa.delete(m.credentials).where(m.credentials.c.account_id == account_id))
        conn.execute(sa.insert(m.credentials).values(**row))


def load_credentials(db: sa.Engine, box: KeyBox, account_id: str) -> Credentials | None:
    with db.connect() as conn:
        row = conn.execute(
            sa.select(m.credentials).where(m.credentials.c.account_id == account_id)
        ).first()
    if row is None:
        return None
    return box.open(account_id, row.exchange, Sealed(row.ciphertext, row.nonce, row.key_id))


def delete_credentials(db: sa.Engine, account_id: str) -> bool:
    with db.begin() as conn:
        result = conn.execute(
            sa.delete(m.credentials).where(m.credentials.c.account_id == account_id)
        )
    return bool(result.rowcount)


def rotate(db: sa.Engine, old: KeyBox, new: KeyBox) -> int:
    """Re-seal every stored credential under ``new``; returns how many.

    All values are opened first: if any fails (wrong old key, tampering), nothing is written.
    The rewrite is one transaction, so a crash leaves either all old or all new.
    """
    with db.begin() as conn:
        rows = conn.execute(sa.select(m.credentials)).all()
        opened = []
        for row in rows:
            if row.key_id == new.key_id:
                continue  # already under the new key (a rotation resumed after a crash)
            sealed = Sealed(row.ciphertext, row.nonce, row.key_id)
            opened.append((row.account_id, old.open(row.account_id, row.exchange, sealed)))
        for account_id, creds in opened:
            fresh = new.seal(account_id, creds)
            conn.execute(
                sa.update(m.credentials)
                .where(m.credentials.c.account_id == account_id)
                .values(ciphertext=fresh.ciphertext, nonce=fresh.nonce, key_id=fresh.key_id)
            )
    return len(opened)


__all__ = ["delete_credentials", "load_credentials", "rotate", "save_credentials"]
