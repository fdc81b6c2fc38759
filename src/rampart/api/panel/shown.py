"""The panel's money, as people read it: Jinja filters over :mod:`rampart.domain.money_format`.

Pages get the API's JSON (exact decimal strings) and format each figure where it is shown:
``{{ p.equity|money(p.quote) }}``, ``{{ t.pnl|pnl(t.symbol|quote) }}``,
``{{ x.qty|qty(x.symbol) }}`` (the instrument's lot precision), ``{{ x.mark|price(x.symbol) }}``
(its tick).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from rampart.domain import money_format
from rampart.domain.instruments import Instrument
from rampart.domain.symbols import quote_asset


def _instrument(context: Context, symbol: str) -> Instrument | None:
    """The instrument the page's service trades as ``symbol``, if it knows one."""
    try:
        found: Instrument = context["request"].app.state.ctx.operator.instrument(symbol)
    except Exception:  # a page must render whatever the venue knows; the step is a nicety
        return None
    return found


def money(value: Any, asset: str) -> str:
    return money_format.money(value, asset)


def pnl(value: Any, asset: str) -> str:
    return money_format.pnl(value, asset)


def quote(symbol: str) -> str:
    return quote_asset(symbol)


@pass_context
def qty(context: Context, value: Any, symbol: str) -> str:
    found = _instrument(context, symbol)
    return money_format.quantity(value, found.lot_size if found is not None else None)


@pass_context
def price(context: Context, value: Any, symbol: str) -> str:
    found = _instrument(context, symbol)
    tick: Decimal | None = found.tick_size if found is not None else None
    return money_format.price(value, "", tick)


FILTERS = {"money": money, "pnl": pnl, "quote": quote, "qty": qty, "price": price}
