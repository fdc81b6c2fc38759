"""``api:`` settings: where the HTTP API listens and the limits that keep it healthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import Field, model_validator

from rampart.rollout.settings import RolloutSettings
from rampart.settings_base import Section


class ApiConfig(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    """0 picks a free port (tests)."""
    rate_per_minute: int = Field(default=600, ge=1)
    """Requests one token may make per minute before it gets 429."""
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    """Larger request bodies get 413 before they are read into memory."""
    cors_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the API; empty (the default) sends no CORS headers."""
    behind_tls_proxy: bool = False
    """The API speaks plain HTTP; set this when a TLS proxy (nginx, Caddy) fronts a
    non-loopback ``host``, or ``rampart doctor`` fails the deployment."""
    tls_cert: Path | None = None
    """Serve HTTPS directly: the certificate chain (PEM). Needs ``tls_key`` too."""
    tls_key: Path | None = None
    """The certificate's private key (PEM, unencrypted; readable by Rampart's user only)."""
    # Connection limits: the API is served by the process that trades, so slow or idle
    # clients must not pile up in it (docs/operations/security.md, "API hardening").
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)
    """A request must arrive whole (request line, headers and body) within this many seconds
    of its connection opening or of its first byte; a slow or partial one is closed."""
    keep_alive_s: float = Field(default=5.0, gt=0, le=300)
    """An idle keep-alive connection is closed after this many seconds."""
    max_connections: int = Field(default=256, ge=1, le=65_536)
    """Open connections at most. A new one past it closes the oldest connection that has no
    request in progress; when every one is busy, the new one gets 503."""
    max_header_bytes: int = Field(default=8192, ge=1024, le=1_048_576)
    """The request line and headers together; larger gets 400."""
    auth_failures_per_minute: int = Field(default=10, ge=1)
    """Failed authentications one client address may make a minute (and at once); past it
    unknown tokens from that address get 429 without a database lookup."""
    token_refresh_s: float = Field(default=5.0, gt=0, le=3600)
    """How often (ops clock) the valid tokens are re-read from the database: a token revoked
    by another process stops working within this bound while the database answers."""
    panel_session_s: float = Field(default=8 * 3600.0, ge=60, le=7 * 86400)
    """How long an operator panel sign-in lasts (ops clock) before it asks for the token again."""

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both tls_cert and tls_key to serve HTTPS, or neither")
        return self

    @property
    def tls(self) -> bool:
        """Whether the API serves HTTPS itself."""
        return self.tls_cert is not None


class ApiSettings(RolloutSettings, Protocol):
    """The one settings Protocol with the API's own section: the rest (the mode, the rollout's,
    the venue's, the alerts', the models' directory, what a report reads) is named once in
    ``operator.settings.Settings`` and ``rollout.settings.RolloutSettings``. ``GET
    /admin/config`` shows the whole object, secrets masked."""

    @property
    def api(self) -> ApiConfig: ...

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


__all__ = ["ApiConfig", "ApiSettings"]
