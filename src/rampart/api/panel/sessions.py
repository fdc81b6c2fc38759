"""Panel sign-in sessions: a random id in the cookie, everything else in this process.

The cookie holds only the session id, never the API token. The token stays in memory so each
request is authenticated again exactly as an API call is (``TokenAuth.identify``): a token
revoked with ``rampart token revoke`` ends its panel sessions within the API's own bound.
Sessions live on the ops clock and expire ``api.panel_session_s`` after sign-in; a restart
signs everyone out (sessions are not stored), which is the safe direction.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from rampart.clock import Clock
from rampart.security import tokens

COOKIE = "rampart_panel"
MAX_SESSIONS = 10_000
"""Oldest sessions are dropped past this many: sign-ins must not grow memory without bound."""


@dataclass
class PanelSession:
    id: str
    token: str
    name: str
    scope: str
    """The token's scope: ``admin`` acts; ``read`` sees everything and acts on nothing; ``user``
    sees its own account only."""
    account_id: str | None
    expires_ms: int
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    flash: list[tuple[str, str]] = field(default_factory=list)
    """Messages for the next page: (role, sentence), role ``status`` or ``alert``."""

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


class SessionStore:
    def __init__(self, clock: Clock, lifetime_s: float) -> None:
        self.clock = clock
        self.lifetime_ms = int(lifetime_s * 1000)
        self._sessions: dict[str, PanelSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, token: str, name: str, scope: str, account_id: str | None) -> PanelSession:
        self._expire()
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        sid = secrets.token_urlsafe(32)
        made = PanelSession(
            sid, token, name, scope, account_id, self.clock.now_ms() + self.lifetime_ms
        )
        self._sessions[sid] = made
        return made

    def get(self, sid: str | None) -> PanelSession | None:
        if not sid:
            return None
        found = self._sessions.get(sid)
        if found is None:
            return None
        if found.expires_ms <= self.clock.now_ms():
            self._sessions.pop(sid, None)
            return None
        return found

    def end(self, sid: str | None) -> None:
        if sid:
            self._sessions.pop(sid, None)

    def _expire(self) -> None:
        now = self.clock.now_ms()
        for sid in [s for s, v in self._sessions.items() if v.expires_ms <= now]:
            del self._sessions[sid]
