"""API tokens: made once, shown once, stored only as a SHA-256 hash.

A token is ``rp_`` followed by 43 random URL-safe characters (256 bits). The database keeps
its hash and its first characters (the prefix) so an operator can tell tokens apart in a list
without the table being worth stealing. ``admin`` tokens may do everything; a ``read`` token
(an operator's viewing token) may read everything an admin reads but change nothing; a ``user``
token belongs to one account and may only read that account.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa

from rampart.domain.errors import RampartError
from rampart.security.token_kinds import (  # re-exported: the command line and tests use them here
    ADMIN as ADMIN,
)
from rampart.security.token_kinds import (
    EVERY_ACCOUNT as EVERY_ACCOUNT,
)
from rampart.security.token_kinds import (
    MAX_TOKEN_LEN as MAX_TOKEN_LEN,
)
from rampart.security.token_kinds import (
    PREFIX_LEN as PREFIX_LEN,
)
from rampart.security.token_kinds import (
    READ as READ,
)
from rampart.security.token_kinds import (
    SCOPES as SCOPES,
)
from rampart.security.token_kinds import (
    TOKEN_MARK as TOKEN_MARK,
)
from rampart.security.token_kinds import (
    USER as USER,
)
from rampart.security.token_kinds import (
    TokenInfo as TokenInfo,
)
from rampart.security.token_kinds import (
    hash_token as hash_token,
)
from rampart.store import models as m
from rampart.store.errors import translating

T = TypeVar("T")


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        id=int(row.id),
        prefix=row.prefix,
        scope=row.scope,
        account_id=row.account_id,
        name=row.name,
        created_at=int(row.created_at),
        last_used_at=None if row.last_used_at is None else int(row.last_used_at),
        revoked_at=None if row.revoked_at is None else int(row.revoked_at),
    )


@contextmanager
def _begin(db: sa.Engine, what: str) -> Iterator[sa.Connection]:
    with translating(f"{what} failed"), db.begin() as conn:
        yield conn


def _select(db: sa.Engine, stmt: Any, what: str, convert: Callable[[Any], T]) -> list[T]:
    with translating(f"Reading {what} from the database failed"), db.connect() as conn:
        return [convert(row) for row in conn.execute(stmt).all()]


def _check(scope: str, account_id: str | None, name: str) -> tuple[str, str | None, str]:
    scope = (scope or "").strip().lower()
    if scope not in SCOPES:
        raise RampartError(f"The scope must be admin, read or user; got {scope!r}.")
    account = (account_id or "").strip() or None
    if scope == USER and account is None:
        raise RampartError("A user token belongs to one account: say which with --account.")
    if scope in EVERY_ACCOUNT and account is not None:
        article = "An" if scope == ADMIN else "A"
        raise RampartError(
            f"{article} {scope} token reaches every account; do not give it --account."
        )
    if account is not None and len(account) > m.ID:
        raise RampartError(f"An account id has at most {m.ID} characters.")
    name = (name or "").strip()
    if len(name) > m.NAME:
        raise RampartError(f"A token name has at most {m.NAME} characters.")
    return scope, account, name


def create_token(db: sa.Engine, scope: str, account_id: str | None, name: str, now_ms: int) -> str:
    """Store a new token's hash and return the token itself: the only time it exists in clear."""
    scope, account, label = _check(scope, account_id, name)
    token = TOKEN_MARK + secrets.token_urlsafe(32)
    row = {
        "token_hash": hash_token(token),
        "prefix": token[:PREFIX_LEN],
        "scope": scope,
        "account_id": account,
        "name": label or (f"{scope}:{account}" if account else scope),
        "created_at": now_ms,
    }
    with _begin(db, "Saving the token") as conn:
        conn.execute(sa.insert(m.api_tokens), [row])
    return token


def verify(db: sa.Engine, token: str, now_ms: int | None = None) -> TokenInfo | None:
    """The token's record if it exists and is usable at ``now_ms`` (not revoked, or inside
    a rotation's grace period; without ``now_ms``: not revoked at all); None otherwise."""
    if not token or len(token) > MAX_TOKEN_LEN or not token.startswith(TOKEN_MARK):
        return None
    c = m.api_tokens.c
    stmt = sa.select(m.api_tokens).where(c.token_hash == hash_token(token))
    found = _select(db, stmt, "the token", _info)
    if not found:
        return None
    usable = found[0].active if now_ms is None else found[0].usable(now_ms)
    return found[0] if usable else None


def usable_tokens(db: sa.Engine, now_ms: int, limit: int = 10_000) -> dict[str, TokenInfo]:
    """Every token usable at ``now_ms`` or later (not revoked, or retiring later), by hash:
    what the API checks tokens against, so it needs no query per request and still knows
    its tokens while the database is away. The newest ``limit`` tokens when there are more."""
    c = m.api_tokens.c
    stmt = (
        sa.select(m.api_tokens)
        .where(sa.or_(c.revoked_at.is_(None), c.revoked_at > now_ms))
        .order_by(c.id.desc())
        .limit(limit)
    )
    rows = _select(db, stmt, "the tokens", lambda row: (str(row.token_hash), _info(row)))
    return dict(rows)


def touch(db: sa.Engine, token_id: int, now_ms: int) -> None:
    """Record when a token was last used (callers do it at most now and then)."""
    c = m.api_tokens.c
    with _begin(db, "Recording the token's use") as conn:
        conn.execute(sa.update(m.api_tokens).where(c.id == token_id).values(last_used_at=now_ms))


def list_tokens(db: sa.Engine, include_revoked: bool = False) -> list[TokenInfo]:
    c = m.api_tokens.c
    stmt = sa.select(m.api_tokens).order_by(c.id)
    if not include_revoked:
        stmt = stmt.where(c.revoked_at.is_(None))
    return _select(db, stmt, "tokens", _info)


def find_tokens(db: sa.Engine, ref: str) -> Sequence[TokenInfo]:
    """Tokens matching ``ref``: an id number, or the beginning of the shown prefix."""
    c = m.api_tokens.c
    ref = (ref or "").strip()
    if ref.isdigit():
        stmt = sa.select(m.api_tokens).where(c.id == int(ref))
    elif ref.startswith(TOKEN_MARK) and len(ref) > len(TOKEN_MARK):
        stmt = sa.select(m.api_tokens).where(c.prefix == ref[:PREFIX_LEN])
    else:
        raise RampartError(
            f"Name the token by its id or its prefix (like {TOKEN_MARK}AbC1234); got {ref!r}."
        )
    return _select(db, stmt, "tokens", _info)


def revoke(db: sa.Engine, ref: str, now_ms: int, *, effective_ms: int | None = None) -> TokenInfo:
    """Revoke one token by id or prefix, from ``effective_ms`` (default: now). Refuses, in a
    sentence, an unknown or ambiguous one."""
    at = now_ms if effective_ms is None else max(now_ms, effective_ms)
    found = [t for t in find_tokens(db, ref) if t.active]
    if not found:
        raise RampartError(f"There is no active token {ref!r}; `rampart token list` shows them.")
    if len(found) > 1:
        ids = ", ".join(str(t.id) for t in found)
        raise RampartError(f"Prefix {ref!r} matches tokens {ids}; revoke one by its id.")
    c = m.api_tokens.c
    with _begin(db, "Revoking the token") as conn:
        conn.execute(
            sa.update(m.api_tokens)
            .where(c.id == found[0].id, c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
    t = found[0]
    return TokenInfo(
        t.id, t.prefix, t.scope, t.account_id, t.name, t.created_at, t.last_used_at, at
    )
