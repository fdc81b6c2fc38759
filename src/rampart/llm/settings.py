"""``llm:`` settings: the chat-completions endpoint, its budget and prices."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, SecretStr

from rampart.settings_base import Section


class LlmPrice(Section):
    prompt_per_1k: Decimal = Field(ge=0, le=1000)
    completion_per_1k: Decimal = Field(ge=0, le=1000)


class LlmConfig(Section):
    """An OpenAI-compatible chat-completions endpoint for the ``llm`` agent and ``/vibe``."""

    enabled: bool = False
    base_url: str = "http://127.0.0.1:8000/v1"
    api_key: SecretStr = SecretStr("")
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    retries: int = Field(default=2, ge=0, le=10)
    cache_ttl_s: float = Field(default=3600.0, ge=0)
    cache_size: int = Field(default=4096, ge=1)
    daily_budget_usd: Decimal = Field(default=Decimal("5"), ge=0, le=Decimal("1e6"))
    prices: dict[str, LlmPrice] = Field(default_factory=dict)
    """USD per 1,000 tokens by model; a model without a price counts as free, so set it."""
    fallback_agent: str = "trend"
    """The rule agent that trades for the rest of the UTC day once the budget is spent."""


__all__ = ["LlmConfig", "LlmPrice"]
