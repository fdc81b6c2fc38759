"""The operator panel's sign-in sessions, stored so a service restart keeps people signed in.

A row holds the SHA-256 hash of the cookie's session id (never the id itself, so reading the
table does not let anyone in), the id of the API token the person signed in with (never the
token), the session's CSRF value and when it expires (ops clock, UTC ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from rampart.store.errors import translating
from rampart.store.models.panel import panel_sessions as t


@dataclass(frozen=True, slots=True)
class StoredSession:
    token_id: int
    csrf: str
    created_at: int
    expires_at: int


def save(
    db: sa.Engine, sid_hash: str, token_id: int, csrf: str, now_ms: int, expires_ms: int
) -> None:
    """Store a new session, dropping every expired one on the way (sign-ins are rare)."""
    with translating("Saving the panel session failed"), db.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.expires_at <= now_ms))
        conn.execute(
            sa.insert(t),
            [
                {
                    "sid_hash": sid_hash,
                    "token_id": token_id,
                    "csrf": csrf,
                    "created_at": now_ms,
                    "expires_at": expires_ms,
                }
            ],
        )


def load(db: sa.Engine, sid_hash: str, now_ms: int) -> StoredSession | None:
    """The session with this hash if it exists and has not expired at ``now_ms``."""
    stmt = sa.select(t).where(t.c.sid_hash == sid_hash, t.c.expires_at > now_ms)
    with translating("Reading the panel session failed"), db.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    return StoredSession(int(row.token_id), row.csrf, int(row.created_at), int(row.expires_at))


def delete(db: sa.Engine, sid_hash: str) -> None:
    with translating("Ending the panel session failed"), db.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.sid_hash == sid_hash))
