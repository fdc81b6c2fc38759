"""The fleet chaos run's shape: the fleet's settings file, the fault schedule (the
compressed one CI runs and the random one of ``bench/scale_chaos.py``), and the figures it
returns."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

KILL = "kill -9"
FREEZE = "SIGSTOP"
NATS_DOWN = "NATS stopped"
PG_DOWN = "PostgreSQL stopped"
CPU = "CPU 2x"
KINDS = (KILL, FREEZE, NATS_DOWN, PG_DOWN, CPU)
SYMBOL = "BTC/USDT"


@dataclass(frozen=True)
class Fault:
    at_s: float
    """Seconds after the fleet first held every shard."""
    kind: str
    lasts_s: float
    """How long it stays (a killed worker: until one is started in its place)."""


@dataclass
class ChaosShape:
    accounts: int = 60
    workers: int = 3
    shards: int = 10
    lease_s: float = 6.0
    renew_every_s: float = 0.5
    timeframe: str = "1s"
    request_limit: int | None = 360_000
    """The simulator's weight per minute per address: Binance's 6,000 a minute on one-minute
    candles is 100 a candle, and so is this on one-second candles."""
    settle_s: float = 30.0
    """Faults over: how long the fleet has to settle before the wedge check's window."""
    wedge_window_s: float = 10.0
    """Every shard must checkpoint within this window at the end (a shard that does not is
    wedged)."""
    start_within_s: float = 120.0
    """Hang guard: the fleet holding every shard at the start."""


def settings(shape: ChaosShape, sim_url: str, keys: list[tuple[str, str, str]], db_url: str,
             nats_url: str) -> dict[str, Any]:  # fmt: skip
    """The fleet's settings file, as an operator following docs/operators/scale.md writes it:
    one simulator account per Rampart account, trend agents on one-second candles."""
    ids = [account_id(i) for i in range(shape.accounts)]
    return {
        "mode": "testnet",
        "log_format": "json",
        "venue": {
            "kind": "ccxt",
            "exchange": "binance",
            "api_url": sim_url,
            "rate_limit_ms": 5,
            "credentials": {
                a: {"api_key": k, "secret": s} for a, (_i, k, s) in zip(ids, keys, strict=True)
            },
        },
        "feed": {
            "kind": "ccxt",
            "symbols": [SYMBOL],
            "timeframe": shape.timeframe,
            "poll_every_s": 0.25,
            "stale_after_s": 10,
        },
        "accounts": [
            {
                "id": a,
                "agent": "trend",
                "params": {"fast": 2, "slow": 4, "atr_period": 3, "atr_k": 1.0},
                "profile": "aggressive",
                "symbols": [SYMBOL],
                "capital": 1000,
            }
            for a in ids
        ],
        # One-second candles move little: tight stops must be allowed for trades to happen.
        "profiles": {
            "aggressive": {"min_stop": "0.0002", "min_rr": "1", "consecutive_losses": 1000}
        },
        # A checkpoint a candle: its candle time is how the harness sees a shard trade.
        "store": {"url": db_url, "checkpoint_every": 1},
        "engine": {"history": 60},
        "alerts": {"enabled": False},
        "api": {"enabled": False},
        "scale": {
            "nats_url": nats_url,
            "shards": shape.shards,
            "lease_s": shape.lease_s,
            "renew_every_s": shape.renew_every_s,
            "market_keep": 200,
        },
    }


def account_id(i: int) -> str:
    return f"acct-{i:02d}"


def ci_schedule(lease_s: float) -> list[Fault]:
    """The compressed schedule: one of each fault, the CPU load from before the kill -9 to the
    NATS stop's end (trading back within 10 s of a kill -9 also with the CPU
    oversubscribed 2x). The SIGSTOP lasts past the lease (its shards must move, and it must
    give them up on waking)."""
    return [
        Fault(2, CPU, 60),
        Fault(5, KILL, 8),
        Fault(22, FREEZE, 2.5 * lease_s),
        Fault(45, NATS_DOWN, 8),
        Fault(60, PG_DOWN, 8),
    ]


def random_schedule(minutes: float, seed: int, lease_s: float) -> list[Fault]:
    """The long run: a fault every 45-90 s (the issue's lengths: SIGSTOP 40 s, NATS and
    PostgreSQL 20 s, the CPU load a minute), one at a time, the last ending a settle before
    the end."""
    picks = random.Random(seed)  # a reproducible schedule
    lasts = {KILL: 10.0, FREEZE: max(40.0, 2 * lease_s), NATS_DOWN: 20.0, PG_DOWN: 20.0, CPU: 60.0}
    out: list[Fault] = []
    at = 20.0
    end = minutes * 60
    while True:
        kind = picks.choice(KINDS)
        if at + lasts[kind] > end:
            return out
        out.append(Fault(at, kind, lasts[kind]))
        at += lasts[kind] + picks.uniform(45, 90)


def _by_kind(times: Iterable[tuple[float, str]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for seconds, kind in times:
        out.setdefault(kind, []).append(seconds)
    return out


@dataclass
class ChaosFigures:
    """What a run found. ``failures`` is empty when every outcome held."""

    faults: dict[str, int] = field(default_factory=dict)
    fills_store: int = 0
    fills_venue: int = 0
    orders_venue: int = 0
    lost_fills: int = 0
    phantom_fills: int = 0
    lost_orders: int = 0
    balance_differences: list[str] = field(default_factory=list)
    dust: int = 0
    """Accounts whose balance differs from the store's position by less than a lot: what a
    sale leaves behind when the fee was taken from the coin bought (dust on both sides)."""
    requests: int = 0
    """Requests the exchange answered in the whole run."""
    sent_twice: list[str] = field(default_factory=list)
    wedged: list[str] = field(default_factory=list)
    longest_unheld_s: float = 0.0
    longest_unheld_shard: int | None = None
    moves: list[tuple[float, str, str, int]] = field(default_factory=list)
    """Per shard moved by a kill -9 or a SIGSTOP: the fault until its first checkpoint of a
    candle that closed after the fault (a checkpoint a candle: its first decision there), the
    fault's kind (and whether the CPU was oversubscribed when it came), the fault and the
    shard (the report names the slowest, to be traced in the workers' logs)."""
    claims: list[tuple[float, str]] = field(default_factory=list)
    """Per shard moved: the fault until a worker had claimed it (its ``shard_claimed`` line),
    and the fault's kind."""
    never_resumed: list[str] = field(default_factory=list)
    before_heal: str = ""
    """The fills line as the fleet left the store, before the audit worker's takeover."""
    exits: list[str] = field(default_factory=list)
    """Processes that exited by themselves (the feed after a NATS stop, a worker)."""
    details: list[str] = field(default_factory=list)
    bare: list[str] = field(default_factory=list)
    """Per fault, the longest time any coin sat on the exchange without a resting stop
    (:mod:`rampart_testkit.bare_watch`)."""
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def resume_by(self) -> dict[str, list[float]]:
        """The resume times of :attr:`moves`, by the fault's kind."""
        return _by_kind((seconds, kind) for seconds, kind, *_ in self.moves)

    @property
    def claims_by(self) -> dict[str, list[float]]:
        """The claim times of :attr:`claims`, by the fault's kind."""
        return _by_kind(self.claims)

    @property
    def resume_s(self) -> list[float]:
        """Every shard moved's resume time, whatever the fault."""
        return [seconds for seconds, *_ in self.moves]


__all__ = [
    "CPU",
    "FREEZE",
    "KILL",
    "KINDS",
    "NATS_DOWN",
    "PG_DOWN",
    "ChaosFigures",
    "ChaosShape",
    "Fault",
    "account_id",
    "ci_schedule",
    "random_schedule",
    "settings",
]
