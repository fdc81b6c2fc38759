"""``rampart check-warmup``: how much history an agent needs before its signals settle.

The agent is run over every candle; on a set of target candles (where it proposed something,
and some where it did not) fresh agents are then given only the last ``L`` candles up to the
target, for growing ``L``, and their decisions compared with the fully warmed one's: the same
entries and exits, with prices, stops and targets within 0.1 % and confidence within 0.01.
Indicators such as EMAs never forget their start entirely; the check says from which ``L``
every target matches, against the agent's own declared warm-up (the bars it waits before its
first decision). When the first is larger, an agent started on less history trades, for a
while, on indicators that have not settled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rampart.domain.intents import Intent
from rampart.research.signals import Decision, Driver

PRICE_TOLERANCE = Decimal("0.001")
CONFIDENCE_TOLERANCE = 0.01
TARGETS = 40
MULTIPLES = (1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
SPAN = 50
"""Candles after the longest history tried, at the least, to pick targets among."""

Tick = Callable[[int, int], None]


def _close(a: Intent, b: Intent) -> bool:
    if (a.action, a.side) != (b.action, b.side):
        return False
    for x, y in (
        (a.entry_price, b.entry_price),
        (a.stop_loss, b.stop_loss),
        (a.take_profit, b.take_profit),
    ):
        if (x is None) != (y is None):
            return False
        if x is not None and y is not None and abs(x - y) > PRICE_TOLERANCE * abs(y):
            return False
    return abs(a.confidence - b.confidence) <= CONFIDENCE_TOLERANCE


def same(a: Decision, b: Decision) -> bool:
    """The same decisions, up to the tolerances."""
    return all(
        len(x) == len(y) and all(_close(i, j) for i, j in zip(x, y, strict=True))
        for x, y in ((a.flat, b.flat), (a.holding, b.holding))
    )


@dataclass(frozen=True, slots=True)
class WarmupRow:
    history: int
    matched: int
    targets: int


@dataclass(frozen=True, slots=True)
class WarmupReport:
    agent: str
    declared: int
    """The bars the agent waits before its first decision."""
    rows: tuple[WarmupRow, ...]
    signals: int

    @property
    def stable_from(self) -> int | None:
        """The shortest history from which every longer one tried matches too."""
        stable = None
        for row in reversed(self.rows):
            if row.matched != row.targets:
                break
            stable = row.history
        return stable

    @property
    def ok(self) -> bool:
        """Its signals settle within the bars it waits (a finding otherwise, and when there
        were too few candles to tell)."""
        stable = self.stable_from
        return (
            bool(self.rows and self.rows[0].targets)
            and stable is not None
            and (stable <= self.declared)
        )

    def sentence(self) -> str:
        if not self.rows or not self.rows[0].targets:
            return f"{self.agent}: too few candles to check its warm-up."
        stable = self.stable_from
        longest = self.rows[-1].history
        if longest < self.declared and stable is None:
            return (
                f"{self.agent} waits {self.declared} bars, more than these candles leave room "
                f"to check (at most {longest} bars of history were tried): its warm-up could "
                "not be checked on this file."
            )
        if stable is None:
            return (
                f"{self.agent}'s signals had not settled with {longest} bars of history (it "
                f"waits {self.declared}): indicators that long need more data before trading."
            )
        if stable <= self.declared:
            return (
                f"{self.agent}'s signals match a fully warmed agent's from {stable} bars of "
                f"history, within the {self.declared} bars it waits before deciding."
            )
        return (
            f"{self.agent}'s signals match a fully warmed agent's only from {stable} bars of "
            f"history, but it starts deciding after {self.declared}: give it at least {stable} "
            "bars before it trades (feed history, or raise its warm-up)."
        )


def lengths_for(declared: int, candles: int) -> list[int]:
    top = candles // 2
    out = sorted({max(2, round(declared * m)) for m in MULTIPLES if declared * m <= top})
    if not out and declared + SPAN <= candles:
        # A warm-up longer than half the file: its own length still leaves candles to compare.
        out = [max(2, declared)]
    return out or [min(max(2, declared), max(2, top))]


async def check_warmup(
    driver: Driver,
    *,
    agent: str,
    targets: int = TARGETS,
    lengths: Sequence[int] | None = None,
    tick: Tick | None = None,
) -> WarmupReport:
    n = len(driver.candles)
    warmed, full = await driver.run(0, n)
    declared = int(getattr(warmed, "warmup", 1))
    tried = list(lengths) if lengths else lengths_for(declared, n)
    reach = max(tried)
    eligible = [i for i in range(reach - 1, n)]
    signals = [i for i in eligible if full[i].any]
    quiet = [i for i in eligible if not full[i].any]
    pick = _spread(signals, targets - targets // 4) + _spread(quiet, targets // 4)
    rows: list[WarmupRow] = []
    total = len(tried) * len(pick)
    done = 0
    for length in tried:
        matched = 0
        for index in pick:
            _, cut = await driver.run(index - length + 1, index + 1, (index,))
            matched += same(cut[index], full[index])
            done += 1
            if tick is not None:
                tick(done, total)
        rows.append(WarmupRow(length, matched, len(pick)))
    return WarmupReport(agent, declared, tuple(rows), len(signals))


def _spread(items: list[int], count: int) -> list[int]:
    """Up to ``count`` of ``items``, evenly spaced."""
    if count <= 0 or not items:
        return []
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(k * step)] for k in range(count)]
