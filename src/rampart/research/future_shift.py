"""The lookahead check's second run: the same market with its prices doubled and its times moved
whole weeks later, so only an agent that reads the market from somewhere else decides apart.

An agent that reads only the candles it is handed decides the same on the doubled, later market:
every entry, stop and target doubled, every confidence the same. Doubling is exact in binary
floating point, so float indicators (averages, ranges, ratios) come out exactly doubled or the
same, and the tick, the minimum notional and the account's equity are doubled too; moving by
whole weeks keeps every weekday and time of day. An agent that peeks at the future through a
cache kept from an earlier run, a copy of the data, or a read the sandbox could not see, finds
the real prices and the real times, which no longer line up with what it is handed: its
decisions differ, on candles where it trades and on those where it stays out.

Compared on every candle asked, flat and holding, with the warm-up check's tolerances (prices
within 0.1 %, confidence within 0.01): rounding to a doubled tick can move a price by a tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent
from rampart.research.signals import Decision
from rampart.research.warmup import same

SCALE = 2
WEEK_MS = 7 * 86_400_000


def shift_of(candles: Sequence[Candle]) -> int:
    """Whole weeks past the end of the data: no shifted time is one of the original's."""
    if not candles:
        return WEEK_MS
    span = candles[-1].close_ts - candles[0].ts
    return (span // WEEK_MS + 2) * WEEK_MS


def shifted_candles(candles: Sequence[Candle], shift: int) -> list[Candle]:
    return [
        Candle(
            c.symbol,
            c.ts + shift,
            c.open * SCALE,
            c.high * SCALE,
            c.low * SCALE,
            c.close * SCALE,
            c.volume,
            c.timeframe_ms,
        )
        for c in candles
    ]


def shifted_instrument(instrument: Instrument) -> Instrument:
    return replace(
        instrument,
        tick_size=instrument.tick_size * SCALE,
        min_notional=instrument.min_notional * SCALE,
    )


def _back(intent: Intent) -> Intent:
    """A decision on the doubled market, its prices halved to compare with the original."""
    return replace(
        intent,
        entry_price=intent.entry_price / SCALE,
        stop_loss=intent.stop_loss / SCALE,
        take_profit=intent.take_profit / SCALE,
    )


@dataclass(frozen=True, slots=True)
class Moved:
    """A candle on which the agent decided differently once the market was moved."""

    original: Decision
    moved: Decision
    weeks: int

    def describe(self) -> str:
        return (
            f"candle {self.original.index + 1}: on its candles it proposed "
            f"{self.original.describe()}; with every price doubled and the times {self.weeks} "
            f"weeks later it proposed {self.moved.describe()} (prices halved back)"
        )


def compare(original: dict[int, Decision], moved: dict[int, Decision], shift: int) -> list[Moved]:
    """Every candle decided apart (the moved decisions' prices halved back first)."""
    out = []
    for index, first in sorted(original.items()):
        other = moved.get(index)
        if other is None:
            continue
        back = replace(
            other,
            flat=tuple(_back(i) for i in other.flat),
            holding=tuple(_back(i) for i in other.holding),
        )
        if not same(first, back):
            out.append(Moved(first, back, shift // WEEK_MS))
    return out
