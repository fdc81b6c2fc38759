"""What the market-data guard quarantined in a replay: counted, listed in ``quarantined.csv``
beside the trades, and said in the replay's output (a replay applies the same guard as live
trading; ``--trust-data`` turns it off, and the output says that instead)."""

from __future__ import annotations

import csv
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rampart.clock import ms_to_datetime
from rampart.market.price_guard import CONFIRMED, HELD, REJECTED, PriceGuard, Quarantined

if TYPE_CHECKING:  # a replay keeps no metrics: prometheus_client stays unloaded there
    from rampart.observability.market_data_metrics import MarketDataMetrics

CSV_NAME = "quarantined.csv"
TRUSTED = (
    "Market-data guard off (--trust-data): every candle counted as it came, unchecked against "
    "its recent moves."
)
NEVER = "never confirmed: the data ended while it was held"


@dataclass(frozen=True, slots=True)
class GuardOutcome:
    counts: dict[str, int]
    """Quarantined prices by outcome: dropped, held, confirmed, rejected, trimmed."""
    listed: tuple[Quarantined, ...]
    csv_path: Path | None
    """The listing, when anything was quarantined."""

    @property
    def quarantined(self) -> int:
        """Candles that did not count as they came (a held one that was later confirmed still
        counted, one candle late)."""
        c = self.counts
        return c.get("dropped", 0) + c.get("rejected", 0) + c.get("trimmed", 0) + c.get("never", 0)

    def sentence(self) -> str:
        if not self.counts:
            return "Market-data guard: every candle passed."
        c = self.counts
        parts = [
            f"{c[k]:,} {label}"
            for k, label in (
                ("dropped", "dropped as impossible or out of place"),
                ("rejected", "held and rejected as bad prints"),
                ("confirmed", "held and then confirmed by the next candle"),
                ("trimmed", "wicks trimmed"),
                ("never", "still held when the data ended"),
            )
            if c.get(k)
        ]
        where = f"; listed in {self.csv_path}" if self.csv_path is not None else ""
        return f"Market-data guard: {', '.join(parts)}{where}."


def guard_outcome(guard: PriceGuard, out_dir: Path, *, held_at_end: bool) -> GuardOutcome | None:
    """The replay's guard figures, writing the listing; None when the guard was off."""
    path = out_dir / CSV_NAME
    if not guard.enabled:
        path.unlink(missing_ok=True)
        return None
    listed = [q for q in guard.listed if q.outcome != HELD]
    counts = {k: n for k, n in guard.counts.items() if k != HELD}
    if held_at_end:
        for symbol in guard.held_symbols():
            still = [item for _, item in guard.state_held(symbol) if item is not None]
            listed.extend(_never(q) for q in still)
            counts["never"] = counts.get("never", 0) + len(still)
    if not listed:
        path.unlink(missing_ok=True)
        return GuardOutcome(counts, (), None)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["symbol", "time_utc", "field", "value", "band", "outcome", "reason"])
        for q in listed:
            when = ms_to_datetime(q.ts).strftime("%Y-%m-%d %H:%M:%S")
            out.writerow([q.symbol, when, q.field, f"{q.value:.10g}", q.band, q.outcome, q.reason])
    return GuardOutcome(counts, tuple(listed), path)


def watch_guard(guard: PriceGuard, metrics: MarketDataMetrics) -> None:
    """Count what ``guard`` quarantines from now on, for the MarketDataSuspect rules, and keep
    the held gauges (with why each symbol is held) as they are after every change."""
    earlier = guard.listener

    def listener(item: Quarantined) -> None:
        if earlier is not None:
            earlier(item)
        if item.outcome not in (CONFIRMED, REJECTED):  # counted once, when first seen
            metrics.quarantined(
                item.symbol, item.source, f"{item.value:.6g}", item.band, item.outcome
            )

    def held(symbol: str) -> None:
        metrics.holding(symbol, guard.held(symbol), len(guard.suspect), guard.why_held(symbol))

    guard.listener = listener
    guard.on_held = held


def second_reading_of(
    venue: Any, source_deadline_s: float | None = None
) -> Callable[[str], Awaitable[float | None]] | None:
    """The exchange's own price (its ticker, else its order book, else its last trade) as a
    second reading of a held candle, where it has them (an exchange through ccxt); None for a
    venue that matches on our own candles (paper) or has no ticker."""
    inner = getattr(venue, "wrapped", venue)  # the metrics wrapper forwards nothing it lacks
    caller, public = getattr(inner, "caller", None), getattr(inner, "public", None)
    if caller is None or public is None or not hasattr(public, "fetch_ticker"):
        return None
    from rampart.venues.ccxt_readings import SOURCE_DEADLINE_S, independent_price

    deadline = SOURCE_DEADLINE_S if source_deadline_s is None else source_deadline_s
    return partial(independent_price, caller, public, deadline_s=deadline)


def _never(item: Quarantined) -> Quarantined:
    return replace(item, outcome="never", reason=f"{item.reason}; {NEVER}")


__all__ = [
    "CSV_NAME",
    "TRUSTED",
    "GuardOutcome",
    "guard_outcome",
    "second_reading_of",
    "watch_guard",
]
