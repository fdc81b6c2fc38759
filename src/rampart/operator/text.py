"""Money in the facade's sentences, as every front shows it (:mod:`rampart.domain.money_format`),
HTML-escaped: the bot sends HTML, and an escaped amount reads the same everywhere else."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from rampart.domain import money_format


def money(amount: Decimal, currency: str) -> str:
    return escape(money_format.money(amount, currency))


__all__ = ["money"]
