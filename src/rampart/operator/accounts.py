"""``accounts:`` settings: one trading account, and the domain spec the engine opens it from.

The operator facade and the bots add accounts at run time from the same section the settings
file holds, so it lives here, next to them; ``rampart.config`` composes it into ``Settings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pydantic import Field

from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.settings_base import Section


class AccountConfig(Section):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    agent: str = "trend"
    profile: str = "moderate"
    capital: Decimal = Field(default=Decimal("10000"), gt=0, le=Decimal("1e12"))
    symbols: list[str] = Field(default_factory=lambda: ["BTC/USDT"], min_length=1)
    owner: str = "demo"
    params: dict[str, Any] = Field(default_factory=dict)


def account_spec(cfg: AccountConfig, quote: str) -> AccountSpec:
    return AccountSpec(
        account_id=cfg.id,
        agent=cfg.agent,
        profile=cfg.profile,
        capital=cfg.capital,
        symbols=tuple(cfg.symbols),
        owner=cfg.owner,
        quote=quote,
    )


def quote_of(symbols: Iterable[str]) -> str:
    quotes = {Instrument.split_symbol(s)[1] for s in symbols}
    if len(quotes) != 1:
        raise ConfigError(
            "An account trades symbols of one quote currency; got " + ", ".join(sorted(quotes))
        )
    return quotes.pop()


__all__ = ["AccountConfig", "account_spec", "quote_of"]
