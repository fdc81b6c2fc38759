"""Bearer tokens: who is calling, what they may see, and how often they may call.

Tokens are checked against a snapshot of the usable tokens, re-read from the database every
``api.token_refresh_s`` of the ops clock (5 s by default; the server's heartbeat keeps it
current, and a request finding it older refreshes it first). So a request costs no query, a
token revoked by another process (``rampart token revoke``) stops working within that bound
while the database answers, and one revoked in this process (``forget``) at once. A token the
snapshot lacks is looked up once: it may have been made since.

When the database does not answer, the snapshot decides: a token in it is accepted (the kill
switch works with the database down) and any other is refused with 401, never 503.

Failed authentications are budgeted per client address (``api.auth_failures_per_minute``) and
for everyone together; past the budget an unknown token gets 429 without any lookup. Each
failure is logged with the address and a count, never the token, and counted in
``rampart_api_auth_failures_total``. Each valid token has its own bucket of
``rate_per_minute`` requests; an empty bucket answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, Protocol

import structlog
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rampart.api.errors import ApiError
from rampart.api.limits import FailureLimiter
from rampart.api.settings import ApiConfig
from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.runtime.ratelimit import RateLimiter
from rampart.security import token_kinds as tokens

log = structlog.get_logger("rampart.api.auth")

TOUCH_EVERY_S = 60.0
SNAPSHOT_MAX = 10_000
REFRESH_WAIT_S = 2.0
"""Real seconds a request waits for a refresh in flight before the snapshot it has decides:
a database that hangs must not hold up the kill switch."""
CHALLENGE = {"WWW-Authenticate": "Bearer"}
INVALID = "This token is not valid: it is unknown or revoked."
READ_ONLY = "This token can only read."
NEEDS_ADMIN = "This needs an admin token."
READING = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing: what a read token may send to the operator endpoints."""

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
        """May act: change state through the operator endpoints."""
        return self.scope == tokens.ADMIN

    @property
    def reads_all(self) -> bool:
        """May read everything an admin reads (an admin or a read token)."""
        return self.scope in tokens.EVERY_ACCOUNT

    @property
    def actor(self) -> str:
        """Who did it, as recorded with operator actions."""
        return f"api:{self.name}"[:64]

    @classmethod
    def of(cls, info: tokens.TokenInfo) -> Principal:
        return cls(info.id, info.scope, info.account_id, info.name, info.prefix)


def _plausible(token: str) -> bool:
    return 0 < len(token) <= tokens.MAX_TOKEN_LEN and token.startswith(tokens.TOKEN_MARK)


class TokenRecords(Protocol):
    """Where the tokens are stored: the facade's ``tokens``
    (:class:`rampart.operator.records.TokenRecords`). Blocking; a failure raises StoreError."""

    def ready(self) -> bool: ...

    def usable(self, now_ms: int, limit: int) -> dict[str, tokens.TokenInfo]: ...

    def find(self, ref: str) -> Sequence[tokens.TokenInfo]: ...

    def verify(self, token: str, now_ms: int) -> tokens.TokenInfo | None: ...

    def touch(self, token_id: int, now_ms: int) -> None: ...


class TokenAuth:
    def __init__(
        self,
        records: TokenRecords,
        clock: Clock,
        settings: ApiConfig | None = None,
        *,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        api = settings or ApiConfig()
        self._records = records
        self.clock = clock
        self.refresh_ms = int(api.token_refresh_s * 1000)
        self.limiter = RateLimiter(clock, api.rate_per_minute)
        self.failures = FailureLimiter(clock, api.auth_failures_per_minute)
        self._on_failure = on_failure
        self._known: dict[str, tokens.TokenInfo] = {}
        """Usable tokens by hash, as last read (plus ones looked up since)."""
        self._due_ms: int | None = None
        """When the snapshot is next re-read (ops clock); None: at the next chance."""
        self._refreshing: asyncio.Task[None] | None = None
        self._refresh_started = 0.0
        self._generation = 0
        self.database_ok = True
        """The last read of the tokens succeeded; while not, unknown tokens are not looked up."""
        self._touched: dict[int, int] = {}
        self._background: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._known)

    def knows(self, token: str) -> bool:
        """Whether the snapshot holds ``token`` (what decides while the database is away)."""
        return _plausible(token) and tokens.hash_token(token) in self._known

    def forget(self, token_id: int | None = None) -> None:
        """After a revoke in this process: drop that token (or every one) at once and re-read
        the rest at the next chance."""
        self._generation += 1  # a refresh already reading must not bring it back
        if token_id is None:
            self._known = {}
        else:
            self._known = {k: v for k, v in self._known.items() if v.id != token_id}
        self._due_ms = None

    # -- the snapshot --------------------------------------------------------------------------

    async def keep_fresh(self, wait_s: float | None = None) -> None:
        """Re-read the tokens if due, waiting for it at most ``wait_s`` real seconds from when
        the read started (None: until done). Never raises: the snapshot stays as it was."""
        loop = asyncio.get_running_loop()
        if self._refreshing is None:
            now = self.clock.now_ms()
            if self._due_ms is not None and now < self._due_ms:
                return
            self._refresh_started = loop.time()
            self._refreshing = asyncio.create_task(self._refresh(now), name="token-refresh")
        task = self._refreshing
        timeout = None if wait_s is None else self._refresh_started + wait_s - loop.time()
        if timeout is not None and timeout <= 0:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            log.warning("token_refresh_slow", waited_s=wait_s, known=len(self._known))

    async def _refresh(self, now: int) -> None:
        generation = self._generation
        try:
            known = await asyncio.to_thread(self._records.usable, now, SNAPSHOT_MAX)
        except Exception as exc:  # whatever the cause, the snapshot stays as it was
            if self.database_ok:
                # Once per outage: the tokens last read keep working meanwhile.
                error = exc.message if isinstance(exc, StoreError) else repr(exc)
                log.warning("token_refresh_failed", error=error, known=len(self._known))
            self.database_ok = False
        else:
            if not self.database_ok:
                log.info("token_refresh_recovered", known=len(known))
            self.database_ok = True
            if generation == self._generation:
                self._known = known
        finally:
            self._refreshing = None
            if generation == self._generation:
                self._due_ms = now + self.refresh_ms

    # -- a request's token ---------------------------------------------------------------------

    async def identify(self, token: str, client: str) -> Principal:
        """The caller behind ``token``, or ApiError 401 (not valid) or 429 (too many failures
        from ``client``, so not looked up)."""
        await self.keep_fresh(REFRESH_WAIT_S)
        now = self.clock.now_ms()
        key = tokens.hash_token(token) if _plausible(token) else None
        info = self._known.get(key) if key is not None else None
        if info is not None:
            if info.usable(now):
                self._touch(info.id, now)
                return Principal.of(info)
            self._refuse(client)  # retired: the snapshot knows, nothing to look up
        wait = self.failures.blocked(client)
        if wait is not None:
            self._limit(client, wait)
        if key is not None and self.database_ok:
            found = await self._lookup(token, now)
            if found is not None:
                if len(self._known) < SNAPSHOT_MAX:
                    self._known[key] = found
                self._touch(found.id, now)
                return Principal.of(found)
        self._refuse(client)

    async def identify_id(self, token_id: int, client: str) -> Principal:
        """The caller behind the token with this id, checked as :meth:`identify` checks a token:
        for a stored panel session, which keeps its token's id, never the token."""
        await self.keep_fresh(REFRESH_WAIT_S)
        now = self.clock.now_ms()
        info = next((i for i in self._known.values() if i.id == token_id), None)
        if info is None and self.database_ok and self._records.ready():
            try:
                found = await asyncio.to_thread(self._records.find, str(token_id))
            except StoreError as exc:
                log.warning("token_lookup_failed", error=exc.message)
                self.database_ok = False
                self._due_ms = None
            else:
                info = found[0] if found else None
        if info is None or not info.usable(now):
            self._refuse(client)
        self._touch(info.id, now)
        return Principal.of(info)

    async def _lookup(self, token: str, now: int) -> tokens.TokenInfo | None:
        if not self._records.ready():
            return None
        try:
            return await asyncio.to_thread(self._records.verify, token, now)
        except StoreError as exc:
            log.warning("token_lookup_failed", error=exc.message)
            self.database_ok = False
            self._due_ms = None  # find out at the next chance when it is back
            return None

    def _refuse(self, client: str) -> NoReturn:
        count = self.failures.failed(client)
        if self._on_failure is not None:
            self._on_failure("refused")
        log.warning("api_auth_failed", client=client, failures=count)
        raise ApiError(401, INVALID, CHALLENGE)

    def _limit(self, client: str, wait: float) -> NoReturn:
        count, first = self.failures.refused(client)
        if self._on_failure is not None:
            self._on_failure("limited")
        if first:
            log.warning("api_auth_limited", client=client, failures=count)
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"Too many failed authentications from this address; try again in {seconds} s.",
            {"Retry-After": str(seconds), **CHALLENGE},
        )

    def _touch(self, token_id: int, now: int) -> None:
        """Record the token's use now and then, in the background: bookkeeping must never
        hold up or refuse a request (the database may be slow or away)."""
        if not self.database_ok or now - self._touched.get(token_id, -(10**15)) < (
            TOUCH_EVERY_S * 1000
        ):
            return
        if not self._records.ready():
            return
        if len(self._touched) >= SNAPSHOT_MAX:
            self._touched.clear()
        self._touched[token_id] = now
        task = asyncio.create_task(self._touch_now(token_id, now), name="token-touch")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _touch_now(self, token_id: int, now: int) -> None:
        try:
            await asyncio.to_thread(self._records.touch, token_id, now)
        except StoreError as exc:
            log.warning("token_touch_failed", error=exc.message)


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


async def authenticated(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None:
        raise ApiError(401, "Send an API token as 'Authorization: Bearer <token>'.", CHALLENGE)
    auth: TokenAuth = _ctx(request).auth
    client = request.client.host if request.client is not None else "unknown"
    found = await auth.identify(creds.credentials, client)
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


async def admin(request: Request, principal: Caller) -> Principal:
    """An operator endpoint's caller: an admin token, or a read token when the request only
    reads. Decided by the method, so every operator GET is open to a read token and every
    endpoint that changes state is closed to it, whichever router declares it."""
    if principal.admin:
        return principal
    if principal.reads_all:
        if request.method in READING:
            return principal
        raise ApiError(403, READ_ONLY)
    raise ApiError(403, NEEDS_ADMIN)


Admin = Annotated[Principal, Depends(admin)]

AccountId = Annotated[str, Path(min_length=1, max_length=128, description="The account's id.")]


async def account_reader(request: Request, account_id: AccountId, principal: Caller) -> str:
    """The account the caller may read: any for an admin or read token, only its own for a
    user token."""
    if not principal.reads_all and principal.account_id != account_id:
        raise ApiError(403, f"This token may only read account {principal.account_id}.")
    _ctx(request).views.account(account_id)  # 404 in words when it is not running
    return account_id


ReadableAccount = Annotated[str, Depends(account_reader)]
