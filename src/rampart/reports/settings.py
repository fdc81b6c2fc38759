"""``email:`` settings: where the team's daily summary is e-mailed. Off until
``smtp_host`` is set; the password comes from the environment (``RAMPART_EMAIL__PASSWORD``)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from rampart.settings_base import Section


def _address(text: str) -> str:
    name, address = parseaddr(text)
    if "@" not in address or " " in address:
        raise ValueError(f"{text!r} is not an e-mail address")
    return text


class EmailConfig(Section):
    smtp_host: str | None = None
    """The SMTP relay; None: no e-mail (the summary still goes to the operator chat)."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    """``starttls`` (port 587), ``ssl`` (implicit TLS, port 465) or ``none`` (a relay on the
    same host or network only: the password would cross in clear)."""
    ca_file: str | None = None
    """A CA bundle to trust for the relay's certificate (a private relay); default: the
    system's."""
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "rampart@localhost"
    recipients: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=20.0, gt=0)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @model_validator(mode="after")
    def _complete(self) -> EmailConfig:
        if self.smtp_host and not self.recipients:
            raise ValueError("email.smtp_host is set but email.recipients is empty")
        if self.password is not None and not self.username:
            raise ValueError("email.password is set without email.username")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host)


__all__ = ["EmailConfig"]
