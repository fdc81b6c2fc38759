"""The simulator's symbols and their filters: the usual ones for known symbols, else derived
from the first price, with Binance's other filters (those of its major symbols) added."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from rampart.domain.instruments import DEFAULT_INSTRUMENTS, NO_RULES, Instrument, binance_rules
from rampart_testkit.simulator.tape import MarketTape

MARKET_NOTIONAL = Decimal(5_000_000)
"""Roughly what one market order may be worth on a major Binance symbol (MARKET_LOT_SIZE)."""
MAX_LOT = Decimal(9_000_000_000)


def instruments_for(symbols: list[str], tape: MarketTape) -> dict[str, Instrument]:
    """The usual filters for known symbols, else filters derived from the first price."""
    out: dict[str, Instrument] = {}
    for symbol in symbols:
        if symbol in DEFAULT_INSTRUMENTS:
            out[symbol] = DEFAULT_INSTRUMENTS[symbol]
            continue
        last = tape.last(symbol)
        out[symbol] = Instrument.for_price(symbol, last.close if last else 100.0)
    return out


def with_rules(inst: Instrument, price: float) -> Instrument:
    """An instrument given none of Binance's other filters gets those of its major symbols,
    a market order capped near 5 million in the quote."""
    if inst.rules != NO_RULES:
        return inst
    top = inst.floor_qty(MARKET_NOTIONAL / Decimal(repr(max(price, 1e-12))))
    return replace(inst, rules=binance_rules(max(top, inst.min_qty), MAX_LOT))
