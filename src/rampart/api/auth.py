"""Bearer tokens: who is calling, what they may see, and how often they may call.

A token is checked against its stored hash once, then remembered for a few seconds of the ops
clock, so a busy dashboard does not query the database on every request while a revoked token
stops working within that bound. Each token has its own bucket of ``rate_per_minute``
requests, refilled continuously; an empty bucket answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rampart.api.errors import ApiError
from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.security import tokens

log = structlog.get_logger("rampart.api.auth")

CACHE_S = 5.0
TOUCH_EVERY_S = 60.0
CACHE_MAX = 10_000
CHALLENGE = {"WWW-Authenticate": "Bearer"}

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="`Authorization: Bearer <token>`; tokens come from `rampart token create`.",
)


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    scope: str
    account_id: str | None
    name: str
    prefix: str

    @property
    def admin(self) -> bool:
        return self.scope == tokens.ADMIN

    @property
    def actor(self) -> str:
        """Who did it, as recorded with operator actions."""
        return f"api:{self.name}"[:64]


class RateLimiter:
    """A token bucket per key on the given clock."""

    def __init__(self, clock: Clock, per_minute: int) -> None:
        self.clock = clock
        self.capacity = float(per_minute)
        self.per_ms = per_minute / 60_000
        self._buckets: dict[Any, tuple[float, int]] = {}

    def take(self, key: Any) -> float | None:
        """Spend one request. None when allowed, else seconds until one is available."""
        now = self.clock.now_ms()
        level, last = self._buckets.get(key, (self.capacity, now))
        level = min(self.capacity, level + (now - last) * self.per_ms)
        if level >= 1:
            self._buckets[key] = (level - 1, now)
            return None
        self._buckets[key] = (level, now)
        return (1 - level) / self.per_ms / 1000


class TokenAuth:
    def __init__(
        self, db: Callable[[], sa.Engine | None], clock: Clock, rate_per_minute: int
    ) -> None:
        self._db = db
        self.clock = clock
        self.limiter = RateLimiter(clock, rate_per_minute)
        self._cache: dict[str, tuple[Principal, int]] = {}
        self._touched: dict[int, int] = {}

    def forget(self) -> None:
        """Drop remembered tokens (after a revoke in this process)."""
        self._cache.clear()

    async def principal(self, token: str) -> Principal | None:
        now = self.clock.now_ms()
        key = tokens.hash_token(token)
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        db = self._db()
        if db is None:
            raise StoreError("The database is not open yet; try again in a moment.")
        info = await asyncio.to_thread(tokens.verify, db, token, now)
        if info is None:
            self._cache.pop(key, None)
            return None
        found = Principal(info.id, info.scope, info.account_id, info.name, info.prefix)
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[key] = (found, now + int(CACHE_S * 1000))
        if now - self._touched.get(info.id, -(10**15)) >= TOUCH_EVERY_S * 1000:
            self._touched[info.id] = now
            try:
                await asyncio.to_thread(tokens.touch, db, info.id, now)
            except StoreError as exc:  # bookkeeping only: never refuse a request for it
                log.warning("token_touch_failed", error=exc.message)
        return found


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


async def authenticated(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None:
        raise ApiError(401, "Send an API token as 'Authorization: Bearer <token>'.", CHALLENGE)
    auth: TokenAuth = _ctx(request).auth
    found = await auth.principal(creds.credentials)
    if found is None:
        raise ApiError(401, "This token is not valid: it is unknown or revoked.", CHALLENGE)
    wait = auth.limiter.take(found.token_id)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"Too many requests with this token; try again in {seconds} s.",
            {"Retry-After": str(seconds)},
        )
    return found


Caller = Annotated[Principal, Depends(authenticated)]


async def admin(principal: Caller) -> Principal:
    if not principal.admin:
        raise ApiError(403, "This needs an admin token.")
    return principal


Admin = Annotated[Principal, Depends(admin)]

AccountId = Annotated[str, Path(min_length=1, max_length=128, description="The account's id.")]


async def account_reader(request: Request, account_id: AccountId, principal: Caller) -> str:
    """The account the caller may read: any for an admin, only its own for a user token."""
    if not principal.admin and principal.account_id != account_id:
        raise ApiError(403, f"This token may only read account {principal.account_id}.")
    _ctx(request).views.account(account_id)  # 404 in words when it is not running
    return account_id


ReadableAccount = Annotated[str, Depends(account_reader)]
