"""What a remote soak reports (:class:`RemoteStats`), the tag its account ids carry, and the
check that the settings point at a testnet or the simulator, never at a live account."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rampart.domain.errors import ConfigError
from rampart_testkit.soak.remote_venue import RemoteProtection
from rampart_testkit.soak.stats import SoakStats

if TYPE_CHECKING:
    from rampart.config import Settings


@dataclass
class RemoteStats(SoakStats):
    """The soak's figures, and what only a run against a remote exchange has."""

    protection: RemoteProtection = field(default_factory=RemoteProtection)  # type: ignore[assignment]
    exchange: str = ""
    host: str = ""
    sandbox: bool = False
    accounts: dict[str, str] = field(default_factory=dict)
    """Engine account id -> the configured account whose key it trades with."""
    symbols: list[str] = field(default_factory=list)
    timeframe: str = ""
    started_ms: int = 0
    ended_ms: int = 0
    duration_s: float = 0.0
    traded_s: float = 0.0
    """Wall time from the first candle traded to the end of the run."""
    interrupted: bool = False
    api_calls: int = 0
    api_errors: Counter[str] = field(default_factory=Counter)
    stale_s: float = 0.0
    ledger_mb: float = 0.0
    """The harness's own record of the run's orders and fills at the end (not Rampart's)."""
    ledger_baseline_mb: float = 0.0


def run_tag(now_ms: int) -> str:
    """A short tag unique to a run: base 36 of its start in seconds."""
    n, digits = now_ms // 1000, ""
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return f"s{digits}"


def check_settings(settings: Settings) -> list[str]:
    """The configured accounts a remote soak trades with; a sentence when it cannot run."""
    v = settings.venue
    if v.kind != "ccxt":
        raise ConfigError(
            "A remote soak trades on an exchange through ccxt: set venue.kind: ccxt, the "
            "exchange's testnet (mode: testnet) and its keys under venue.credentials."
        )
    if settings.mode == "live" or not (v.sandbox or settings.mode == "testnet" or v.api_url):
        raise ConfigError(
            "A remote soak trades on a testnet or the exchange simulator, never on a live "
            "account: set mode: testnet (or venue.sandbox: true), or venue.api_url."
        )
    if not v.credentials:
        raise ConfigError(
            "A remote soak trades with the API keys under venue.credentials; there are none."
        )
    return list(v.credentials)


__all__ = ["RemoteStats", "check_settings", "run_tag"]
