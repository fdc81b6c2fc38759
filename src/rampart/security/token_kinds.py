"""What an API token is, without where it is kept: its scopes, its public marks, its record
and its hash. The API's token check and the panel read these; storing, finding and revoking
tokens is :mod:`rampart.security.tokens` (on the store), which the fronts reach only through the
facade (``operator.tokens``), so no front reaches the store through this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

ADMIN = "admin"
READ = "read"
USER = "user"
SCOPES = (ADMIN, READ, USER)
EVERY_ACCOUNT = (ADMIN, READ)
"""Scopes that reach every account (and so take no --account)."""
TOKEN_MARK = "rp_"  # noqa: S105 - the tokens' public prefix
PREFIX_LEN = 10
"""Characters kept in clear: the mark and 7 random ones, enough to tell tokens apart."""
MAX_TOKEN_LEN = 200
"""Anything longer cannot be one of ours; refused before hashing."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    prefix: str
    scope: str
    account_id: str | None
    name: str
    created_at: int
    last_used_at: int | None
    revoked_at: int | None

    @property
    def active(self) -> bool:
        """Not revoked, and not being retired (a rotation's grace period)."""
        return self.revoked_at is None

    def usable(self, now_ms: int) -> bool:
        """Accepted at ``now_ms``: never revoked, or revoked from a later time (the grace
        period a rotation gives clients to switch to the replacement)."""
        return self.revoked_at is None or self.revoked_at > now_ms


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


__all__ = [
    "ADMIN",
    "EVERY_ACCOUNT",
    "MAX_TOKEN_LEN",
    "PREFIX_LEN",
    "READ",
    "SCOPES",
    "TOKEN_MARK",
    "USER",
    "TokenInfo",
    "hash_token",
]
