"""What the market-data guard quarantined (``rampart.market.price_guard``), as the series the
MarketDataSuspect rules read.

``rampart_market_data_suspect_total`` counts each price held, dropped or trimmed, labelled with
its symbol, source, value and the band it missed, so the incident names all four (suspect
prices are rare: the labels stay few). ``rampart_market_data_held_candles`` is how many candles
of a symbol are held now, labelled with why it is still held (so MarketDataHeld says it),
``rampart_market_data_held_symbols`` how many symbols hold one.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

SUSPECT = "rampart_market_data_suspect_total"
HELD_CANDLES = "rampart_market_data_held_candles"
HELD_SYMBOLS = "rampart_market_data_held_symbols"


class MarketDataMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.suspect = Counter(
            SUSPECT,
            "Prices the market-data guard did not let count as they came (held, dropped or a "
            "wick trimmed), by symbol, source, the value and the band it missed.",
            ["symbol", "source", "value", "band", "outcome"],
            registry=r,
        )
        self.held_candles = Gauge(
            HELD_CANDLES,
            "Candles (or a tick) of a symbol held by the market-data guard until confirmed, "
            "and why it is still held.",
            ["symbol", "why"],
            registry=r,
        )
        self._why: dict[str, str] = {}
        self.held_symbols = Gauge(
            HELD_SYMBOLS, "Symbols with a price held by the market-data guard.", registry=r
        )
        self.held_symbols.set(0)

    def quarantined(self, symbol: str, source: str, value: str, band: str, outcome: str) -> None:
        """One price held, dropped or trimmed (see :mod:`rampart.wiring.quarantine`)."""
        self.suspect.labels(
            symbol=symbol, source=source, value=value, band=band or "none", outcome=outcome
        ).inc()

    def holding(self, symbol: str, candles: int, symbols: int, why: str = "") -> None:
        """``candles`` of ``symbol`` held now, for ``why``; ``symbols`` hold one."""
        why = why or "nothing held"
        before = self._why.get(symbol)
        if before is not None and before != why:
            self.held_candles.remove(symbol, before)  # one series a symbol: the current why
        self._why[symbol] = why
        self.held_candles.labels(symbol=symbol, why=why).set(candles)
        self.held_symbols.set(symbols)


__all__ = ["HELD_CANDLES", "HELD_SYMBOLS", "SUSPECT", "MarketDataMetrics"]
