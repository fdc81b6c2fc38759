"""The Solana soak's prices as the service takes them: through the market-data guard, and,
with dirty faults on, read from the stand-in's quotes, counting what a spoiled quote drove.

A DEX has no candle feed: the service's Solana feed samples each market's price from a small
round trip of quotes on the venue's own routes (:func:`~rampart.venues.solana.prices.mid_price`),
hands each sample on as a tick and folds them into candles with no volume. With ``bad_candles``
or ``flap`` asked for, the soak reads its prices that way too, so a spoiled quote (or a route
failing) reaches what the engine is handed as it would in the service; otherwise it hands the
engine the walk's own prices and saves the quotes. Either way every tick passes
:meth:`PriceGuard.admit_price` and every candle :meth:`PriceGuard.admit` before the engine sees
it, as :class:`~rampart.wiring.session.TradingSession` does (a DEX has no ticker to ask for a
second reading).

A read is **suspect** when a spoiled quote was served while it was made and it is more than
``OFF_BY`` off the pool's true price (a spoiled quote the venue's price path threw away, a
``zero`` buy leg, leaves a true price from the other route). A candle is suspect while one of
its prices is a suspect read (a wick the guard trimmed back is not). :class:`~.dirty.SuspectWatch`
then counts the orders and breaker trips made while the engine works on one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rampart.domain.candles import Candle
from rampart.domain.errors import RampartError
from rampart.market.guard_settings import PriceGuardConfig
from rampart.market.price_guard import PriceGuard
from rampart.venues.solana.prices import mid_price
from rampart_testkit.soak.dirty import DirtyChecks, SuspectWatch
from rampart_testkit.solana_sim import SolanaSimHandle

OFF_BY = Decimal("0.01")
"""How far off the pool's price a read must be to count as spoiled (the round trip's fees put
a true read within a few hundredths of a percent)."""
KEPT = 256
"""Candles' spoiled prices remembered for a held candle released later."""


class SolanaPrices:
    def __init__(
        self,
        sim: SolanaSimHandle,
        checks: DirtyChecks,
        symbols_of: Callable[[str], tuple[str, ...]],
        quoted: bool,
        config: PriceGuardConfig | None = None,
    ) -> None:
        self.sim = sim
        self.checks = checks
        self.quoted = quoted
        self.guard = PriceGuard(config or PriceGuardConfig(), "solana", volumes=False)
        """Outlives a restart, as the feed does (what it holds stays held for the new engine)."""
        self.watch = SuspectWatch(checks, symbols_of)
        self.samples: dict[str, list[Decimal]] = {}
        """The step's reads per symbol, folded into its candle at the close."""
        self.spoiled: dict[tuple[str, int], dict[float, str]] = {}
        """(symbol, candle open time) → its suspect reads' prices and variants."""
        self.skipped = 0
        """Reads no route would quote (the feed skips such a sample)."""

    async def read(self, venue: Any, symbol: str, true: Decimal, ts: int) -> Decimal | None:
        """The price the feed reads now for the candle opened at ``ts`` (None: skipped). Without
        quotes, the walk's ``true`` price."""
        if not self.quoted:
            self.samples.setdefault(symbol, []).append(true)
            return true
        corrupted = self.sim.context.faults.corrupted
        before = len(corrupted)
        try:
            price = await mid_price(venue, symbol)
        except RampartError:
            self.skipped += 1
            return None
        if price <= 0:  # the feed takes no such sample either
            self.skipped += 1
            return None
        spoiled = corrupted[before:]
        if spoiled and abs(price / true - 1) > OFF_BY:
            self.spoiled.setdefault((symbol, ts), {})[float(price)] = spoiled[-1].variant
            if len(self.spoiled) > KEPT:
                del self.spoiled[next(iter(self.spoiled))]
        self.samples.setdefault(symbol, []).append(price)
        return price

    def tick(self, symbol: str, price: Decimal, ts: int, now: int) -> bool:
        """Whether the guard lets the tick count; if so the watch knows what the engine is
        about to work on (call :meth:`SuspectWatch.after` once it has)."""
        if not self.guard.admit_price(symbol, float(price), now):
            return False
        self._mark(symbol, self.spoiled.get((symbol, ts), {}).get(float(price)))
        return True

    def candle(self, symbol: str, walked: Candle) -> Candle | None:
        """The step's candle as the feed folds it from its reads (None: no read landed), or
        the walk's own when prices are not quoted."""
        samples = self.samples.pop(symbol, [])
        if not self.quoted:
            return walked
        if not samples:
            return None
        prices = [float(p) for p in samples]
        return Candle(
            symbol,
            walked.ts,
            prices[0],
            max(prices),
            min(prices),
            prices[-1],
            0.0,
            walked.timeframe_ms,
        )

    def admit(self, candle: Candle) -> tuple[Candle, ...]:
        """What the guard lets count of ``candle`` (with what it releases)."""
        admitted = self.guard.admit(candle)
        self.checks.quarantined = dict(self.guard.counts)
        return admitted

    def before(self, candle: Candle) -> None:
        """The engine is about to work on an admitted ``candle``."""
        bad = self.spoiled.get((candle.symbol, candle.ts), {})
        values = (candle.open, candle.high, candle.low, candle.close)
        self._mark(candle.symbol, next((bad[v] for v in values if v in bad), None))

    def _mark(self, symbol: str, variant: str | None) -> None:
        if variant is not None:
            self.checks.delivered[variant] += 1
        self.watch.mark(symbol, variant)

    def take_served(self) -> None:
        """Count the quote answers the stand-in spoiled since the last call (and forget them)."""
        corrupted = self.sim.context.faults.corrupted
        for quote in corrupted:
            self.checks.served[quote.variant] += 1
        corrupted.clear()
        self.checks.quarantined = dict(self.guard.counts)
