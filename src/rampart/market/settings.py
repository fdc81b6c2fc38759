"""``feed:`` settings: which candles the service trades on (synthetic, replay or ccxt)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from rampart.market.guard_settings import PriceGuardConfig
from rampart.settings_base import Section, Symbol

SIMULATED_FEEDS = frozenset({"synthetic", "replay"})
"""Feeds made here, on the candles' own time; every other kind reads a venue's own market (an
exchange's candles, a DEX's quotes) as it happens, on the wall's time."""


class FeedConfig(Section):
    kind: Literal["synthetic", "replay", "ccxt", "solana"] = "synthetic"
    path: Path | None = None
    """Candle file for ``replay`` feeds."""
    symbols: list[Symbol] = Field(default_factory=lambda: ["BTC/USDT", "ETH/USDT"])
    timeframe: str = "1m"
    seed: int = 7
    speed: float = Field(default=300.0, gt=0)
    """Simulated seconds per wall second when running live on a synthetic or replay feed."""
    poll_every_s: float = Field(default=5.0, gt=0)
    """``ccxt`` feeds: how often the exchange is asked for new candles (the exchange and its URL
    are the venue's: ``venue.exchange``, ``venue.sandbox``, ``venue.api_url``); ``solana``
    feeds: how often each market's price is quoted (each quote is a price tick for the position
    monitor)."""
    stale_after_s: float = Field(default=120.0, gt=0)
    """``ccxt`` feeds: a symbol with no new data for this long is stale; entries are refused."""
    use_websocket: bool = True
    """``ccxt`` feeds: stream candles with ccxt.pro where the venue offers them (on by
    default), polling where it does not and while a stream is down; REST fills any gap after
    a reconnect. ``false``: always poll."""
    guard: PriceGuardConfig = Field(default_factory=PriceGuardConfig)
    """The market-data guard every price passes before it counts (rampart.market.price_guard)."""

    @property
    def simulated(self) -> bool:
        """Made here, on the candles' own time (``SIMULATED_FEEDS``), not read from a venue."""
        return self.kind in SIMULATED_FEEDS


__all__ = ["FeedConfig"]
