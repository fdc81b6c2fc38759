"""``accounts:`` settings: one trading account, and the domain spec the engine opens it from.

The operator facade and the bots add accounts at run time from the same section the settings
file holds, so it lives here, next to them; ``rampart.config`` composes it into ``Settings``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from rampart.domain.accounts import AccountSpec
from rampart.domain.errors import ConfigError
from rampart.domain.instruments import Instrument
from rampart.domain.symbols import quote_asset
from rampart.settings_base import Section, Symbol, refusal

ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class AccountConfig(Section):
    id: str
    agent: str = "trend"
    profile: str = "moderate"
    capital: Decimal = Field(default=Decimal("10000"), gt=0, le=Decimal("1e12"))
    symbols: list[Symbol] = Field(default_factory=lambda: ["BTC/USDT"], min_length=1)
    owner: str = "demo"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ACCOUNT_ID.match(value):
            raise refusal(
                f"{value!r} is not an account id: use 1 to 64 letters, digits and . _ : - "
                "(no spaces)"
            )
        return value

    @field_validator("symbols")
    @classmethod
    def _one_quote(cls, value: list[str]) -> list[str]:
        """Each symbol once, all in one quote asset: the account's money is in that asset."""
        seen: set[str] = set()
        for symbol in value:
            if symbol in seen:
                raise refusal(f"{symbol} is listed twice")
            seen.add(symbol)
        quotes = sorted({quote_asset(s) for s in value})
        if len(quotes) > 1:
            listed = ", ".join(f"{s} in {quote_asset(s)}" for s in value)
            raise refusal(
                f"an account trades in one quote asset, and these trade {listed}: give each "
                "quote asset its own account"
            )
        return value


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
