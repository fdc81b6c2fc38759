"""The instruments a session trades when no venue describes them (a simulated or paper feed):
the known ones as they are, any other sized for its typical price."""

from __future__ import annotations

from collections.abc import Iterable

from rampart.domain.instruments import DEFAULT_INSTRUMENTS, Instrument


def instruments_for(
    symbols: Iterable[str], typical: dict[str, float] | None = None
) -> dict[str, Instrument]:
    result: dict[str, Instrument] = {}
    for symbol in symbols:
        if symbol in DEFAULT_INSTRUMENTS and not typical:
            result[symbol] = DEFAULT_INSTRUMENTS[symbol]
        else:
            price = (typical or {}).get(symbol, 100.0)
            result[symbol] = Instrument.for_price(symbol, price)
    return result
