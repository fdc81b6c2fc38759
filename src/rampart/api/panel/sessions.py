"""Panel sign-in sessions: a random id in the cookie, the session stored in the database.

The cookie holds only the session id, never the API token, and the database holds only the id's
hash and the token's id (:mod:`rampart.store.panel_sessions`). Each request is authenticated
again as an API call is, from the token's id (``TokenAuth.identify_id``): a token revoked with
``rampart token revoke`` ends its panel sessions within the API's own bound. Sessions live on
the ops clock and expire ``api.panel_session_s`` after sign-in. Because they are stored, a
service restart (a deploy) keeps everyone signed in, and the forms they had open still post.

Sessions are kept in memory too, so a request costs no query and the panel keeps working while
the database is away (the kill switch must); a remembered session is re-read every
``recheck_s`` so a sign-out in another process of the same database reaches this one. A
session made while the database is away lives in this process only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from rampart.clock import Clock
from rampart.domain.errors import StoreError
from rampart.security import token_kinds as tokens

log = structlog.get_logger("rampart.api.panel")

COOKIE = "rampart_panel"
MAX_SESSIONS = 10_000
"""Oldest sessions are dropped from memory past this many: sign-ins must not grow memory
without bound (a dropped one is read back from the database when it is used again)."""


@dataclass
class PanelSession:
    id: str
    token_id: int
    name: str
    scope: str
    """The token's scope: ``admin`` acts; ``read`` sees everything and acts on nothing; ``user``
    sees its own account only."""
    account_id: str | None
    expires_ms: int
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    flash: list[tuple[str, str]] = field(default_factory=list)
    """Messages for the next page: (role, sentence), role ``status`` or ``alert``."""
    checked_ms: int = 0
    """When the stored session was last read (ops clock)."""

    @property
    def admin(self) -> bool:
        """May act (an admin token): what shows action buttons and lets actions run."""
        return self.scope == tokens.ADMIN

    @property
    def reads_all(self) -> bool:
        """Sees every page and every account (an admin or read token)."""
        return self.scope in tokens.EVERY_ACCOUNT

    @property
    def actor(self) -> str:
        """Who did it, as the audit log records it (the API records ``api:<name>``)."""
        return f"panel:{self.name}"[:64]

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())

    def pop_flash(self) -> list[tuple[str, str]]:
        found, self.flash = self.flash, []
        return found


def sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


class Records(Protocol):
    """Where the sessions are stored: the facade's ``panel_sessions``
    (:class:`rampart.operator.records.PanelSessionRecords`). Blocking; a failure raises
    StoreError."""

    def ready(self) -> bool: ...

    def save(self, sid_hash: str, token_id: int, csrf: str, now: int, expires: int) -> None: ...

    def load(self, sid_hash: str, now: int) -> Any: ...

    def delete(self, sid_hash: str) -> None: ...


class SessionStore:
    def __init__(
        self,
        clock: Clock,
        lifetime_s: float,
        records: Records | None = None,
        recheck_s: float = 5.0,
    ) -> None:
        self.clock = clock
        self.lifetime_ms = int(lifetime_s * 1000)
        self.recheck_ms = int(recheck_s * 1000)
        self._records = records
        self._sessions: dict[str, PanelSession] = {}

    def _stored(self) -> Records | None:
        """The records while the store is open (none: sessions live in this process only)."""
        records = self._records
        return records if records is not None and records.ready() else None

    def __len__(self) -> int:
        return len(self._sessions)

    async def create(
        self, token_id: int, name: str, scope: str, account_id: str | None
    ) -> PanelSession:
        self._expire()
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        now = self.clock.now_ms()
        sid = secrets.token_urlsafe(32)
        made = PanelSession(
            sid, token_id, name, scope, account_id, now + self.lifetime_ms, checked_ms=now
        )
        self._sessions[sid] = made
        stored = self._stored()
        if stored is not None:
            try:
                await asyncio.to_thread(
                    stored.save, sid_hash(sid), token_id, made.csrf, now, made.expires_ms
                )
            except StoreError as exc:
                log.warning("panel_session_not_stored", error=exc.message)
        return made

    async def get(self, sid: str | None) -> PanelSession | None:
        """The live session behind ``sid``: remembered, else read back from the database (after
        a restart). None when there is none, it expired or it was ended elsewhere."""
        if not sid or len(sid) > 128:
            return None
        now = self.clock.now_ms()
        found = self._sessions.get(sid)
        if found is not None and found.expires_ms <= now:
            self._sessions.pop(sid, None)
            return None
        if found is not None and now - found.checked_ms < self.recheck_ms:
            return found
        stored = self._stored()
        if stored is None:
            return found
        try:
            row = await asyncio.to_thread(stored.load, sid_hash(sid), now)
        except StoreError as exc:
            log.warning("panel_session_read_failed", error=exc.message)
            return found  # the database is away: what this process knows decides
        if row is None:
            self._sessions.pop(sid, None)
            return None
        if found is None:
            # Name, scope and account come from the token when the request checks it.
            found = PanelSession(sid, row.token_id, "", "", None, row.expires_at, row.csrf)
            while len(self._sessions) >= MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            self._sessions[sid] = found
        found.checked_ms = now
        return found

    def known(self, sid: str) -> bool:
        """Whether this process still holds the session (no query: the live stream asks often)."""
        found = self._sessions.get(sid)
        return found is not None and found.expires_ms > self.clock.now_ms()

    async def end(self, sid: str | None) -> None:
        if not sid:
            return
        self._sessions.pop(sid, None)
        stored = self._stored()
        if stored is None:
            return
        try:
            await asyncio.to_thread(stored.delete, sid_hash(sid))
        except StoreError as exc:
            log.warning("panel_session_not_ended", error=exc.message)

    def _expire(self) -> None:
        now = self.clock.now_ms()
        for sid in [s for s, v in self._sessions.items() if v.expires_ms <= now]:
            del self._sessions[sid]
