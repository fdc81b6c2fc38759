"""What a soak run does: how long, how fast, which faults, how many accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rampart.domain.errors import ConfigError
from rampart_testkit.soak.chaos import SOAK_KINDS

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

AGENT_MIX = ("churn", "churn", "churn", "trend", "mean_reversion", "breakout")
PROFILE_MIX = ("moderate", "aggressive", "conservative")
SOAK_PROFILES = {
    name: {"min_stop": "0.002", "min_rr": "1", "max_orders_per_minute": 60} for name in PROFILE_MIX
}
"""Synthetic one-minute candles move little: tighter allowed stops make brackets fill (and
be replaced) many times a day instead of almost never."""


def parse_duration(text: str) -> float:
    """``24h``, ``90m``, ``3600`` (seconds), ``1.5d`` → seconds."""
    match = _DURATION.match(text or "")
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(
            f"A duration is a positive number with an optional unit s, m, h or d (e.g. 24h), "
            f"not {text!r}."
        )
    return float(match.group(1)) * _UNIT_S[match.group(2)]


@dataclass
class SoakConfig:
    duration_s: float = 7200.0
    """Simulated time to run."""
    speed: float = 1000.0
    """Upper bound of simulated seconds per wall second (it runs as fast as it can below)."""
    faults: tuple[str, ...] = SOAK_KINDS
    accounts: int = 10
    seed: int = 7
    out_dir: Path = Path("var/soak")
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT")
    timeframe: str = "1m"
    capital: Decimal = Decimal("10000")
    reconcile_every_s: float = 900.0
    """Clock seconds between periodic reconciliations."""
    settle_candles: int = 3
    """Quiet candles after a fault episode before the books are checked against the
    exchange."""
    client_timeout_ms: int = 1000
    recv_window_ms: int = 1000
    warmup_candles: int = 60
    checkpoint_every: int = 10
    """Candles between checkpoints: the store's events and the engine's state saved together
    (a restart resumes from the last one)."""
    final_settle_wall_s: float = 20.0
    """Longest real time to let unconfirmed orders settle after the last fault."""
    sim_history: int = 50
    """Finished orders and trades the simulator remembers per account: the exchange is not
    what is measured, so its memory is kept bounded; it still covers everything since the
    last checkpoint, which a restart needs to find."""
    sim_candles: int = 300
    """Candles per symbol the simulator keeps for its klines endpoint."""
    baseline_at: float = 0.25
    """Fraction of the run after which the memory baseline is taken: by then every bounded
    history (candles, recent orders, the simulator's) is full, so growth after it is a leak."""
    store: bool = True
    fault_seed: int | None = None
    venue: str = "ccxt"
    """``ccxt`` (the Binance stand-in) or ``solana`` (swaps through the Solana stand-in)."""
    slot_ms: int = 3
    """The Solana stand-in's slot timer (wall milliseconds per slot)."""
    memory_sites: int = 0
    """List this many allocation lines that grew most from the memory baseline to the end
    (tracemalloc; 0: off, as tracing slows the run and adds to what it measures)."""
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ConfigError("The soak's speed must be a positive number of seconds per second.")
        if not 1 <= self.accounts <= 1000:
            raise ConfigError("The soak runs between 1 and 1000 accounts.")
        if self.duration_s <= 0:
            raise ConfigError("The soak's duration must be positive.")
        if self.venue not in ("ccxt", "solana"):
            raise ConfigError(f"The soak runs on venue ccxt or solana, not {self.venue!r}.")

    def account_ids(self) -> list[str]:
        return [f"soak-{i:03d}" for i in range(1, self.accounts + 1)]
