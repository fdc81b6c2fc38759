"""Dirty faults in the soak: what a suspect price drove, and the engine's clock stepping.

The simulator's ``bad_candles`` fault records every klines row it spoiled (symbol, open time,
the close it served). :class:`SuspectWatch` sees each candle the feed hands the engine and
calls it **suspect** when it is one of those as spoiled (its close the spoiled close), or a
candle arriving at or before one already delivered whose row was moved out of order. The first
candle after a hole a ``gap`` made is counted as delivered, not as suspect: its prices are the
exchange's own. The engine's last-seen candle per symbol is suspect until a clean one of that
symbol arrives. While the engine works on a candle:

- an order it registers on a symbol whose last-seen candle is suspect counts as **driven by a
  suspect price** (entries, exits, brackets: each was sized or priced on that candle);
- a breaker trip or a halt counts as **from a suspect price** when the candle in hand, or the
  last-seen candle of any symbol the account trades, is suspect.

Both must be 0: a suspect price moves nothing until it is confirmed (design §4).

``clock_step``: :class:`StepClock` is the clock source the engine and its venue read: the
soak's simulated clock plus an offset the fault plan sets, so a step forward and the step back
at the episode's end are the engine's clock jumping, as a wall clock stepped by NTP does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rampart.clock import SimClock, ms_to_datetime
from rampart.domain.accounts import TradingState
from rampart.domain.candles import Candle
from rampart.domain.events import AccountStateChanged, BreakerTripped, Event, OrderUpdated
from rampart.domain.orders import OrderStatus
from rampart_testkit.simulator.bad_candles import Corrupted
from rampart_testkit.soak.chaos import DIRTY_ONLY

SAMPLES = 10
KEPT = 5_000
"""Spoiled rows remembered per symbol to match against delivered candles (a feed delivers a
candle within a few steps of serving it; older rows can go)."""


class StepClock:
    """The engine's clock source: ``base`` (the soak's simulated clock) moved by
    ``offset_ms``; ``step_to`` jumps it, forward or back."""

    def __init__(self, base: SimClock) -> None:
        self.base = base
        self.offset_ms = 0

    def now_ms(self) -> int:
        return self.base.now_ms() + self.offset_ms

    def now(self) -> datetime:
        return ms_to_datetime(self.now_ms())

    async def sleep(self, seconds: float) -> None:
        await self.base.sleep(seconds)

    def step_to(self, offset_ms: int) -> int:
        """Set the offset; returns the jump (negative: the clock went back)."""
        jump, self.offset_ms = offset_ms - self.offset_ms, offset_ms
        return jump


@dataclass
class DirtyChecks:
    served: Counter[str] = field(default_factory=Counter)
    """Spoiled klines rows the simulator served, by variant."""
    delivered: Counter[str] = field(default_factory=Counter)
    """Suspect candles the feed handed the engine, by variant."""
    orders_on_candles: int = 0
    """Orders the engine registered while working on a candle."""
    suspect_orders: Counter[str] = field(default_factory=Counter)
    """Of those, orders on a symbol whose last-seen candle was suspect, by variant."""
    suspect_trips: int = 0
    suspect_halts: int = 0
    trips: int = 0
    clock_steps_forward: int = 0
    clock_steps_back: int = 0
    store_flaps: int = 0
    """Times a flapping store went down."""
    quarantined: dict[str, int] = field(default_factory=dict)
    """What the market-data guard did with the prices it did not let count, by outcome."""
    samples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.samples) < SAMPLES:
            self.samples.append(text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spoiled_candles_served": dict(self.served),
            "suspect_candles_delivered": dict(self.delivered),
            "orders_on_candles": self.orders_on_candles,
            "orders_driven_by_suspect_price": sum(self.suspect_orders.values()),
            "suspect_orders_by_variant": dict(self.suspect_orders),
            "breaker_trips": self.trips,
            "breaker_trips_from_suspect_price": self.suspect_trips,
            "halts_from_suspect_price": self.suspect_halts,
            "clock_steps": {"forward": self.clock_steps_forward, "back": self.clock_steps_back},
            "store_flaps": self.store_flaps,
            "quarantined_by_guard": self.quarantined,
            "samples": self.samples,
        }


class SuspectWatch:
    """Follows the candles the engine gets and the events it publishes (a bus subscriber)."""

    def __init__(self, checks: DirtyChecks, symbols_of: Any = None) -> None:
        self.checks = checks
        self.spoiled: dict[tuple[str, int], list[Corrupted]] = {}
        """(symbol, open time) → the rows served spoiled for it (a candle fetched twice may
        have been spoiled twice, differently)."""
        self.holes: dict[str, list[int]] = {}
        self.last_ts: dict[str, int] = {}
        self.seen: dict[str, str] = {}
        """symbol → variant of its last-seen candle, while that candle is suspect."""
        self.in_hand: str | None = None
        """The candle being worked on: its variant when suspect, "" when clean, None when the
        engine is not working on a candle."""
        self.symbols_of = symbols_of
        """account id → the symbols it trades (the engine's accounts), for breaker trips."""

    def take(self, rows: Iterable[Corrupted]) -> None:
        """Spoiled rows the simulator served since the last call."""
        for row in rows:
            self.checks.served[row.variant] += 1
            if row.variant == "gap":
                self.holes.setdefault(row.symbol, []).append(row.ts)
            else:
                self.spoiled.setdefault((row.symbol, row.ts), []).append(row)
        if len(self.spoiled) > KEPT * 4:
            for key in sorted(self.spoiled, key=lambda k: k[1])[: len(self.spoiled) // 2]:
                del self.spoiled[key]

    def judge(self, candle: Candle) -> str | None:
        """The variant that made ``candle`` suspect, or None when it is as the exchange has it."""
        symbol, ts = candle.symbol, candle.ts
        last = self.last_ts.get(symbol)
        for row in self.spoiled.get((symbol, ts), ()):
            if row.variant == "out_of_order":
                if last is not None and ts <= last:
                    return row.variant
            elif candle.close == row.close:
                return row.variant
        holes = self.holes.get(symbol)
        if holes and last is not None and any(last < hole < ts for hole in holes):
            return "gap"
        return None

    def before(self, candle: Candle) -> None:
        """The engine is about to work on ``candle``."""
        variant = self.judge(candle)
        symbol = candle.symbol
        self.last_ts[symbol] = max(candle.ts, self.last_ts.get(symbol, candle.ts))
        if variant == "gap":  # the hole is behind the engine now
            self.holes[symbol] = [h for h in self.holes[symbol] if h > candle.ts]
            # Counted, but its prices are the exchange's own: a missing candle is not a bad
            # price (the guard widens its band over the hole), so what it drives is no fault.
            self.checks.delivered[variant] += 1
            variant = None
        self.mark(symbol, variant)

    def mark(self, symbol: str, variant: str | None) -> None:
        """The engine is about to work on a price of ``symbol``: spoiled by ``variant``, or
        clean (None). For a harness that judges its prices itself (the Solana soak's quotes)."""
        if variant is None:
            self.seen.pop(symbol, None)
            self.in_hand = ""
            return
        self.checks.delivered[variant] += 1
        self.seen[symbol] = variant
        self.in_hand = variant

    def after(self) -> None:
        self.in_hand = None

    def _suspect_for(self, account_id: str) -> str | None:
        if self.in_hand:
            return self.in_hand
        symbols = self.symbols_of(account_id) if self.symbols_of is not None else self.seen
        return next((self.seen[s] for s in symbols if s in self.seen), None)

    def __call__(self, event: Event) -> None:
        if self.in_hand is None:
            if isinstance(event, BreakerTripped):
                self.checks.trips += 1
            return
        if isinstance(event, OrderUpdated):
            order = event.order
            if event.previous is not OrderStatus.NEW or order.status is not OrderStatus.NEW:
                return  # NEW → NEW is the executor registering an order it is about to send
            self.checks.orders_on_candles += 1
            variant = self.seen.get(order.symbol)
            if variant is not None:
                self.checks.suspect_orders[variant] += 1
                self.checks.note(
                    f"{order.account_id} {order.role.value} {order.side.value} {order.symbol} "
                    f"on a {variant} candle"
                )
        elif isinstance(event, BreakerTripped):
            self.checks.trips += 1
            variant = self._suspect_for(event.account_id)
            if variant is not None:
                self.checks.suspect_trips += 1
                self.checks.note(
                    f"{event.account_id} breaker {event.breaker} on a {variant} candle"
                )
        elif isinstance(event, AccountStateChanged) and event.new is TradingState.HALTED:
            variant = self._suspect_for(event.account_id)
            if variant is not None:
                self.checks.suspect_halts += 1
                self.checks.note(
                    f"{event.account_id} halted ({event.reason}) on a {variant} candle"
                )


def criteria(
    faults: tuple[str, ...],
    checks: DirtyChecks,
    prices: str = "candles",
    served_as: str | None = None,
) -> list[tuple[str, str, str, bool]]:
    """(name, measured, target, passed) of the dirty soak's own criteria, when a fault only
    ``dirty`` has was asked for: no order and no breaker trip or halt driven by a suspect price.
    ``prices``: what the feed hands the engine; ``served_as``: what was spoiled when it is not
    those (the Solana soak spoils quote answers, and one read reaches the engine as a tick and
    within a candle)."""
    if not any(k in faults for k in DIRTY_ONLY):
        return []
    orders = sum(checks.suspect_orders.values())
    by_variant = ", ".join(f"{k} {n}" for k, n in sorted(checks.suspect_orders.items()))
    served = sum(checks.served.values())
    # The candle after a gap is the exchange's own (counted, not a bad price).
    delivered = sum(n for k, n in checks.delivered.items() if k != "gap")
    guard = checks.quarantined
    held = guard.get("held", 0)
    quarantined = (
        f"; the guard dropped {guard.get('dropped', 0)}, held {held} (rejected "
        f"{guard.get('rejected', 0)}, confirmed {guard.get('confirmed', 0)})"
        if guard
        else ""
    )
    reached = (
        f"{delivered} spoiled {prices} of {served} reached the engine"
        if served_as is None
        else f"{delivered} spoiled {prices} reached the engine from {served} {served_as}"
    )
    return [
        (
            "No order driven by a suspect price",
            f"{orders} of {checks.orders_on_candles} orders placed on {prices}"
            f"{f' ({by_variant})' if by_variant else ''}; {reached}{quarantined}",
            "0",
            orders == 0,
        ),
        (
            "No breaker trip or halt from a suspect price",
            f"{checks.suspect_trips} of {checks.trips} breaker trips, {checks.suspect_halts} halts",
            "0",
            checks.suspect_trips == 0 and checks.suspect_halts == 0,
        ),
    ]


def markdown_line(report: dict[str, Any]) -> list[str]:
    d = report.get("dirty")
    if not d or not (d["spoiled_candles_served"] or d["clock_steps"] or d["store_flaps"]):
        return []
    steps = d["clock_steps"]
    return [
        f"- Dirty faults: spoiled candles served {d['spoiled_candles_served'] or 'none'}, "
        f"suspect candles delivered {d['suspect_candles_delivered'] or 'none'}; "
        f"{d['orders_driven_by_suspect_price']} of {d['orders_on_candles']} orders on candles "
        f"driven by a suspect price; {d['breaker_trips_from_suspect_price']} of "
        f"{d['breaker_trips']} breaker trips and {d['halts_from_suspect_price']} halts from one; "
        f"engine clock stepped {steps['forward']} forward, {steps['back']} back; store flapped "
        f"down {d['store_flaps']} times."
    ]
