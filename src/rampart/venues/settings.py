"""``venue:`` settings: paper fills or a ccxt exchange, fees, credentials and limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from rampart.settings_base import Section, refusal


class ApiCredentials(Section):
    api_key: SecretStr
    secret: SecretStr


class VenueConfig(Section):
    kind: Literal["paper", "ccxt", "solana"] = "paper"
    """``solana``: swaps through bags.fm or Jupiter, settings under ``solana:``."""
    maker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.05"))
    taker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, lt=Decimal("0.05"))
    slippage_bps: Decimal = Field(default=Decimal("2"), ge=0, le=1000)
    impact_bps: Decimal = Field(default=Decimal("10"), ge=0, le=10000)
    participation: Decimal = Field(default=Decimal("0.10"), gt=0, le=1)
    exchange: str = "binance"
    """``ccxt`` venues: the ccxt exchange id."""
    sandbox: bool = False
    """Use the exchange's testnet (ccxt sandbox mode); ``mode: testnet`` turns it on too."""
    api_url: str | None = None
    """Send every request to this base URL instead (the exchange simulator)."""
    credentials: dict[str, ApiCredentials] = Field(default_factory=dict)
    """API key and secret per account id."""
    request_timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=4, ge=0, le=10)
    """Retries of a request that is safe to repeat, after the first try."""
    rate_limit_ms: float | None = Field(default=None, ge=0)
    """Override ccxt's minimum spacing of requests (its ``rateLimit``) per client."""
    bracket_mode: Literal["oco", "stop", "monitor"] | None = None
    """How brackets rest on the exchange; by default the best it offers."""

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise refusal(
                f"{value!r} is not a URL: write it with http:// or https://, for example "
                "http://127.0.0.1:8900"
            )
        return value


__all__ = ["ApiCredentials", "VenueConfig"]
