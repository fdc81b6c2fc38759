"""``telegram:`` settings: who may operate the bot and how updates arrive."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Protocol

from pydantic import Field, SecretStr, field_validator

from rampart.rollout.settings import RolloutSettings
from rampart.settings_base import Section

VIBE_RESPONSE_S = 2.0
"""Plan 001's "<2s /vibe response time": the LLM's reading of a /vibe sentence is waited for so
long, retries included; past it the sentence parser answers."""


class TelegramConfig(Section):
    operator_ids: list[int] = Field(default_factory=list)
    """Telegram user ids allowed to run operator commands (everyone else is refused, audited)."""
    operator_chat_id: int | None = None
    """The chat that receives alert notifications."""
    rate_per_minute: int = Field(default=20, ge=1)
    """Commands one Telegram user may send per minute."""
    demo_capital: Decimal = Field(default=Decimal("10000"), gt=0, le=Decimal("1e9"))
    """The virtual balance of a ``/demo`` paper account."""
    investor_close_cooldown_h: float = Field(default=24.0, ge=0, le=24 * 366)
    """After an investor's ``/close SYMBOL`` the agent does not buy that symbol again for this
    many hours of business-clock time (or until ``/allow SYMBOL``); 0: only ``/allow`` lifts it."""
    vibe_response_s: float = Field(default=VIBE_RESPONSE_S, gt=0, le=60)
    """How long ``/vibe`` waits for the LLM's reading before the sentence parser answers."""
    large_withdrawal_pct: Decimal = Field(default=Decimal(20), gt=0, le=100)
    """``/invest`` lowering capital by more than this share (in %) asks for a confirmation."""
    command_max_age_s: float = Field(default=300.0, gt=0)
    """A command not answered this long after it arrived (the bot was down) is answered "this
    took too long, please ask again" at the next start instead of being run late."""
    poll_timeout_s: float = Field(default=10.0, gt=0)
    """Long-polling timeout of ``getUpdates``."""
    api_url: str | None = None
    """Another Bot API server (a self-hosted one, or a local stand-in in tests)."""
    mode: Literal["polling", "webhook"] = "polling"
    """How updates arrive: long polling (no public address needed) or a webhook."""
    webhook_url: str | None = None
    """The public HTTPS address Telegram posts updates to (webhook mode)."""
    webhook_listen: str = "127.0.0.1"
    """The address the bot's webhook server binds (behind a TLS-terminating proxy)."""
    webhook_port: int = Field(default=8443, ge=0, le=65535)
    webhook_secret: SecretStr | None = None
    """Sent by Telegram in ``X-Telegram-Bot-Api-Secret-Token``; other posts are refused."""
    terms_url: str | None = None
    """Where investors read the full terms of service (your published copy of
    docs/users/terms.md); the bot links it when it asks them to accept the terms."""
    privacy_url: str | None = None
    """Where investors read the full privacy policy (your copy of docs/users/privacy.md)."""

    @field_validator("terms_url", "privacy_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        text = value.strip()
        if not text.startswith(("https://", "http://")) or any(c in text for c in ' "<>'):
            raise ValueError(f"must be a web address starting with https://, not {text[:40]!r}")
        return text


class BotSettings(RolloutSettings, Protocol):
    """The one settings Protocol with the bot's own section and its token: the rest (the mode,
    the venue and feed, the master key, the risk-profile overrides, the rollout's, the models'
    directory, what a report reads, the support SLA) is named once in
    ``operator.settings.Settings`` and ``rollout.settings.RolloutSettings``."""

    @property
    def telegram(self) -> TelegramConfig: ...

    @property
    def telegram_token(self) -> SecretStr | None: ...


__all__ = ["BotSettings", "TelegramConfig"]
