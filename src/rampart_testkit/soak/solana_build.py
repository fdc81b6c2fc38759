"""Building the Solana soak's parts: the seeded market walk, wallets on the stand-in, the
swap journal, the observer, the Solana venue and the engine (again from a checkpoint after a
restart, over the same journal)."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal

import httpx
from solders.keypair import Keypair

from rampart.clock import Clock
from rampart.domain.candles import Candle
from rampart.domain.orders import Order
from rampart.venues.solana.journal import SENT, SwapRecord
from rampart.venues.solana.settings import SolanaConfig
from rampart.venues.solana.venue import SolanaVenue
from rampart_testkit.soak import build
from rampart_testkit.soak.config import SoakConfig
from rampart_testkit.soak.stats import Latency
from rampart_testkit.solana_sim import SolanaSimHandle

SYMBOLS = ("SOL/USDC", "JUP/USDC")
START_PRICES = {"SOL/USDC": 150.0, "JUP/USDC": 0.8}
QUOTE = "USDC"
TAKER_FEE = Decimal("0.012")
"""bags.fm's platform fee (1 %) and the pool's (0.25 %) at most: what sizing keeps back."""
GAS_LAMPORTS = 50 * 10**9
TICKS = 4
"""Prices per candle: the position monitor acts on the ones before the close."""
SIGMA = 0.0009
"""Standard deviation of one tick's log return."""


class MarketWalk:
    """Seeded random walk per symbol: each candle is ``TICKS`` prices, the last its close."""

    def __init__(self, symbols: Iterable[str], seed: int, tf_ms: int) -> None:
        self.rng = random.Random(seed)
        self.tf_ms = tf_ms
        self.price = {s: START_PRICES[s] for s in symbols}

    def candle(self, symbol: str, ts: int) -> tuple[Candle, list[float]]:
        last = self.price[symbol]
        ticks = []
        for _ in range(TICKS):
            # A slight pull back to the start keeps a day's walk in a sane range.
            drift = -0.02 * math.log(last / START_PRICES[symbol]) * SIGMA
            last = round(last * math.exp(self.rng.gauss(drift, SIGMA)), 6)
            ticks.append(last)
        open_ = self.price[symbol]
        self.price[symbol] = last
        candle = Candle(
            symbol, ts, open_, max(open_, *ticks), min(open_, *ticks), last, 1.0, self.tf_ms
        )
        return candle, ticks


class SoakJournal:
    """The swap journal in memory, indexed by client id. In the service it is a database
    table, outside the process's memory: :meth:`forget` drops the rows the soak has verified
    and no restart can need again, so the soak measures Rampart's memory, not the table's."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[int, SwapRecord]] = {}

    async def record(self, rec: SwapRecord) -> None:
        self._rows.setdefault(rec.client_id, {})[rec.attempt] = dataclasses.replace(rec)

    async def pending(self) -> list[SwapRecord]:
        return self._sorted(
            r for rs in self._rows.values() for r in rs.values() if r.status == SENT
        )

    async def for_client(self, client_id: str) -> list[SwapRecord]:
        rows = self._rows.get(client_id, {})
        return [dataclasses.replace(rows[a]) for a in sorted(rows)]

    async def since(self, ts_ms: int) -> list[SwapRecord]:
        return self._sorted(r for rs in self._rows.values() for r in rs.values() if r.ts >= ts_ms)

    @staticmethod
    def _sorted(rows: Iterable[SwapRecord]) -> list[SwapRecord]:
        return [dataclasses.replace(r) for r in sorted(rows, key=lambda r: (r.ts, r.attempt))]

    def clients(self) -> dict[str, list[SwapRecord]]:
        """Every client id's attempts (the records themselves: read, do not change)."""
        return {c: [rs[a] for a in sorted(rs)] for c, rs in self._rows.items()}

    def forget(self, client_id: str) -> None:
        self._rows.pop(client_id, None)

    def __len__(self) -> int:
        return len(self._rows)


@dataclasses.dataclass
class SoakObserver:
    """Counts what the venue reports: swap outcomes, RPC outcomes, fail-overs."""

    swaps: Counter[str] = dataclasses.field(default_factory=Counter)
    rpc: Counter[str] = dataclasses.field(default_factory=Counter)
    failovers: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    confirm: Latency = dataclasses.field(default_factory=Latency)

    def quote(self, route: str, seconds: float, ok: bool) -> None:
        pass

    def swap(self, route: str, outcome: str, seconds: float) -> None:
        self.swaps[f"{route}:{outcome}"] += 1
        if outcome == "filled":
            self.confirm.add(seconds)

    def route_taken(self, route: str, best: str, cost: float, quote: str) -> None:
        del route, best, cost, quote

    def slippage(self, route: str, quoted_bps: float, realised_bps: float) -> None:
        pass

    def rpc_call(self, endpoint: str, method: str, outcome: str, seconds: float) -> None:
        if outcome != "ok":
            self.rpc[outcome] += 1

    def failover(self, from_endpoint: str, to_endpoint: str, reason: str) -> None:
        if len(self.failovers) < 10_000:
            self.failovers.append((from_endpoint, to_endpoint, reason))
        else:
            self.failovers[-1] = (from_endpoint, to_endpoint, reason)

    def endpoint_health(self, endpoint: str, up: bool, lag_slots: int) -> None:
        pass


class TimedSolanaVenue(SolanaVenue):
    """The Solana venue, timing each market order from submit to its outcome (the chain's
    confirmation included)."""

    order_latency: Latency

    async def submit(self, order: Order) -> None:
        await self.order_latency.timed(super().submit(order))


def keypairs(config: SoakConfig) -> dict[str, Keypair]:
    rng = random.Random(config.seed + 11)
    return {a: Keypair.from_seed(rng.randbytes(32)) for a in config.account_ids()}


def fund(config: SoakConfig, sim: SolanaSimHandle, wallets: dict[str, Keypair]) -> None:
    units = int(config.capital * 10**6)
    for kp in wallets.values():
        sim.fund(str(kp.pubkey()), lamports=GAS_LAMPORTS, tokens={QUOTE: units})


def chain_sleep(sim: SolanaSimHandle) -> Callable[[float], Awaitable[None]]:
    """The venue's waits move the chain on one slot instead of waiting on the wall clock
    (the stand-in's slot timer runs too): confirmation waits cost no wall time."""

    async def sleep(seconds: float) -> None:
        del seconds
        await sim.advance(1)
        await asyncio.sleep(0)

    return sleep


def solana_config(sim: SolanaSimHandle) -> SolanaConfig:
    markets = SolanaConfig().markets
    return SolanaConfig.model_validate(
        {
            "markets": {s: markets[s].model_dump() for s in SYMBOLS},
            "rpc_urls": [sim.rpc_url("a"), sim.rpc_url("b")],
            "jupiter_url": sim.jupiter_url,
            "jupiter_api_key": sim.jupiter_api_key,
            "bags_url": sim.bags_url,
            "bags_api_key": sim.api_key,
            "confirm_poll_s": 0.1,
            "confirm_timeout_s": 30,
            "request_timeout_s": 2,
            "max_attempts": 3,
        }
    )


async def venue(
    sim: SolanaSimHandle,
    http: httpx.AsyncClient,
    clock: Clock,
    journal: SoakJournal,
    observer: SoakObserver,
    wallets: dict[str, Keypair],
    latency: Latency,
    decimals: dict[str, int] | None = None,
) -> TimedSolanaVenue:
    built = TimedSolanaVenue(
        solana_config(sim),
        clock=clock,
        journal=journal,
        observer=observer,
        http=http,
        keypairs={a: str(kp) for a, kp in wallets.items()},
        decimals=decimals,
        sleep=chain_sleep(sim),
    )
    built.order_latency = latency
    await built.load(SYMBOLS)
    return built


def accounts(config: SoakConfig) -> build.AccountSpecs:
    """The ccxt soak's mix of accounts (:func:`.build.specs`) on the Solana markets, priced
    in USDC; the engine is the ccxt soak's too (:func:`.build.engine`, with ``TAKER_FEE``)."""
    return build.specs(config, SYMBOLS, QUOTE)
