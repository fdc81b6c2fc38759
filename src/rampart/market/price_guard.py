"""Market data is evidence, not truth: the one guard every price passes before it counts.

Every source ends here: the ccxt poller and websocket stream, the NATS fan-out a worker
reads, the Solana quotes and the replayed or synthetic candles all reach the engine through
:class:`~rampart.wiring.session.TradingSession`, which hands each candle (and each price
tick) to its :class:`PriceGuard` first.

Checks, in order, each in plain words when it fails:

- **impossible** (dropped): a price that is not a finite positive number, a high below the
  open or close, a low above them, a negative or missing volume, prices that moved in a
  candle with no volume;
- **grid and order** (dropped): an open time off the timeframe's grid, at or before the last
  candle of the symbol (a duplicate or one out of order);
- **freshness** (dropped, live feeds only): closed in the future or longer ago than
  ``max_age_s``;
- **move** (held): the open or the close is outside a robust band around the last good
  close — the larger of ``move_band`` and ``sigma_multiple`` robust standard deviations of the
  symbol's recent moves, widened by the square root of the candles a gap spans;
- **no trade** (held): a candle with no volume whose (flat) price is not the last close;
- **wick** (trimmed): a high or a low reaching further than ``wick_band`` beyond the
  candle's body is cut back to it (the body is confirmed, a wick cannot be).

A held candle is quarantined: it moves no mark, equity, drawdown peak, breaker, agent input or
Rampart-monitored stop, and entries on its symbol pause (the engine's ``suspect_symbols``).
It counts once confirmed, and the held candles are then handed on in order. Where an
independent reading exists (``checked``: the exchange's ticker, order book or trades, asked by
:mod:`rampart.market.second_reading`), only such a reading that succeeded confirms: alike
consecutive prints never confirm each other, and while every reading fails the candle stays
held and says why (``why_held``). Where none exists (a replay, the paper venue on its own
candles, a DEX quote feed) the candle series is the only evidence, and the next candle agreeing
with the held close confirms it, so a real crash there trips every breaker and stop one candle
late. When the next candle (or a reading) instead agrees with the last good close, the held
ones were a bad print and are dropped. Fills the venue reports are facts and never pass
through here.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

import structlog

from rampart.domain.candles import Candle
from rampart.market.price_state import (
    CONFIRMED,
    DROPPED,
    HELD,
    KEEP_LISTED,
    RECOMPUTE_EVERY,
    REJECTED,
    TRIMMED,
    Bands,
    Quarantined,
    SymbolPrices,
    impossible,
    measure,
    ratio,
    set_width,
)

log = structlog.get_logger("rampart.market.price_guard")

Listener = Callable[[Quarantined], None]


class GuardConfig(Protocol):
    """The settings the guard reads (``feed.guard``,
    :class:`rampart.market.guard_settings.PriceGuardConfig`, is one). Named here, not
    imported: the settings check runs this guard, so the settings cannot be read back from it
    without a circle."""

    @property
    def enabled(self) -> bool: ...
    @property
    def window(self) -> int: ...
    @property
    def min_history(self) -> int: ...
    @property
    def confirm_candles(self) -> int: ...
    @property
    def max_age_s(self) -> float: ...
    @property
    def future_tolerance_s(self) -> float: ...
    @property
    def max_held(self) -> int: ...
    def bands(self, symbol: str) -> Bands: ...


class PriceGuard:
    """Checks candles and ticks of every symbol; see the module's docstring."""

    def __init__(
        self,
        config: GuardConfig,
        source: str,
        *,
        suspect: set[str] | None = None,
        listener: Listener | None = None,
        volumes: bool = True,
    ) -> None:
        self.config = config
        self.source = source
        self.volumes = volumes
        """The source reports traded volume; a DEX quote feed does not (its candles carry 0),
        so a candle's volume then says nothing about whether its price could move."""
        self.enabled = config.enabled
        self.suspect: set[str] = suspect if suspect is not None else set()
        """Symbols with a held price (the engine's ``suspect_symbols``: no entries on them)."""
        self.listener = listener
        self.checked = False
        """An independent reading of held prices exists (set by its asker): then only it
        confirms a held candle, never the candles after it."""
        self.on_held: Callable[[str], None] | None = None
        """Told the symbol whenever what is held of it, or why, changes (the held gauge)."""
        self.listed: list[Quarantined] = []
        self.counts: dict[str, int] = {}
        """Quarantined prices by outcome, all of them (``listed`` keeps the first ones)."""
        self._symbols: dict[str, SymbolPrices] = {}

    # -- state ------------------------------------------------------------------------------

    def _state(self, symbol: str) -> SymbolPrices:
        state = self._symbols.get(symbol)
        if state is None:
            bands = self.config.bands(symbol)
            state = self._symbols[symbol] = SymbolPrices(
                bands,
                moves=deque(maxlen=self.config.window),
                reach=math.exp(bands.wick_band),
                # First measured as soon as there are min_history moves, then every
                # RECOMPUTE_EVERY.
                since_measured=RECOMPUTE_EVERY - self.config.min_history,
            )
            set_width(state, bands.cold_band)
        return state

    def held(self, symbol: str) -> int:
        """Candles (or a tick) of ``symbol`` held now."""
        state = self._symbols.get(symbol)
        if state is None:
            return 0
        return len(state.held) + (state.held_tick is not None)

    def state_held(self, symbol: str) -> list[tuple[Candle, Quarantined | None]]:
        """The candles of ``symbol`` held now, in order (None: one that agreed, waiting)."""
        state = self._symbols.get(symbol)
        return list(state.held) if state is not None else []

    def why_held(self, symbol: str) -> str:
        """Why ``symbol``'s price is still held, in plain words ("" when nothing is)."""
        state = self._symbols.get(symbol)
        if state is None or not self.held(symbol):
            return ""
        if state.why:
            return state.why
        if self.checked:
            return "waiting for the exchange's own price"
        return "no independent price here: the next candle settles it"

    def unsettled(self, symbol: str, why: str) -> None:
        """A second reading of ``symbol`` failed: it stays held, and this is why."""
        state = self._symbols.get(symbol)
        if state is None or not self.held(symbol) or state.why == why:
            return
        state.why = why
        if self.on_held is not None:
            self.on_held(symbol)

    def held_symbols(self) -> dict[str, int]:
        return {s: n for s in self._symbols if (n := self.held(s))}

    def _note(self, item: Quarantined) -> None:
        self.counts[item.outcome] = self.counts.get(item.outcome, 0) + 1
        if len(self.listed) < KEEP_LISTED:
            self.listed.append(item)
        if self.listener is not None:
            self.listener(item)

    def _mark(self, state: SymbolPrices, symbol: str) -> None:
        if state.held or state.held_tick is not None:
            self.suspect.add(symbol)
        else:
            self.suspect.discard(symbol)
            state.why = ""
        if self.on_held is not None:
            self.on_held(symbol)

    # -- candles ----------------------------------------------------------------------------

    def admit(self, candle: Candle, now_ms: int | None = None) -> tuple[Candle, ...]:
        """The candles that count now, in order: usually ``(candle,)``; none while it is held
        or when it is dropped; the held ones and it when it confirms them."""
        if not self.enabled:
            return (candle,)
        state = self._symbols.get(candle.symbol) or self._state(candle.symbol)
        # The common case in one expression (every candle of a replay comes here): the next
        # candle on the grid, nothing held, every price inside its bands. A NaN fails every
        # comparison and so takes the long way, where it is named.
        ref = state.ref
        if ref is not None and now_ms is None and not state.held:
            ts, o, c = candle.ts, candle.open, candle.close
            low, high = ref * state.low, ref * state.high
            if ts - state.ref_ts == candle.timeframe_ms and low <= c <= high and low <= o <= high:
                top, bottom = (o, c) if o > c else (c, o)
                reach, wick_high, wick_low = state.reach, candle.high, candle.low
                if (
                    top <= wick_high <= top * reach
                    and bottom >= wick_low > 0
                    and wick_low * reach >= bottom
                    and candle.volume > 0
                ):
                    state.last_ts = state.ref_ts = ts
                    state.ref = c
                    state.moves.append(c / ref)  # logged at the next measure, all at once
                    state.since_measured += 1
                    if state.since_measured >= RECOMPUTE_EVERY:
                        measure(state, self.config.min_history)
                    return (candle,)
        wrong = impossible(candle, self.volumes) or self._out_of_place(state, candle, now_ms)
        if wrong is not None:
            name, value, reason = wrong
            self._note(self._item(candle, name, value, reason, DROPPED))
            return ()
        candle = self._trim(state, candle)
        state.last_ts = candle.ts
        if state.held:
            return self._after_held(state, candle)
        if state.ref is not None:
            outside = self._outside(state, candle, state.ref, state.ref_ts)
            if (
                outside is None
                and self.volumes
                and candle.volume == 0
                and candle.close != state.ref
            ):
                # Nothing traded, so the price cannot have moved: a stuck cache's old prices.
                reason = "it has no volume, yet its price is not the last close"
                outside = ("close", candle.close, reason, (state.ref, state.ref))
            if outside is not None:
                self._hold(state, candle, outside)
                return ()
        self._count(state, candle)
        return (candle,)

    def _out_of_place(
        self, state: SymbolPrices, candle: Candle, now_ms: int | None
    ) -> tuple[str, float, str] | None:
        tf = candle.timeframe_ms
        if tf <= 0 or candle.ts % tf:
            return "ts", float(candle.ts), "its open time is off the timeframe's grid"
        if state.last_ts is not None and candle.ts <= state.last_ts:
            why = "a duplicate of" if candle.ts == state.last_ts else "older than"
            return "ts", float(candle.ts), f"it is {why} the last candle seen"
        if now_ms is not None:
            close = candle.ts + tf
            if close > now_ms + self.config.future_tolerance_s * 1000:
                return "ts", float(candle.ts), "it closes in the future (still forming)"
            if close < now_ms - self.config.max_age_s * 1000:
                return "ts", float(candle.ts), "it is stale (closed too long ago)"
        return None

    def _trim(self, state: SymbolPrices, candle: Candle) -> Candle:
        reach = state.reach
        top, bottom = max(candle.open, candle.close) * reach, min(candle.open, candle.close) / reach
        high, low = candle.high, candle.low
        if high <= top and low >= bottom:
            return candle
        for name, value, past in (("high", high, high > top), ("low", low, low < bottom)):
            if past:
                reason = f"the {name} reaches far beyond the body"
                self._note(self._item(candle, name, value, reason, TRIMMED, (bottom, top)))
        return replace(candle, high=min(high, top), low=max(low, bottom))

    def _outside(
        self, state: SymbolPrices, candle: Candle, ref: float, ref_ts: int
    ) -> tuple[str, float, str, tuple[float, float]] | None:
        """What of the candle lies outside the move band around ``ref``, if anything."""
        steps = (candle.ts - ref_ts) / candle.timeframe_ms
        if steps > 1:
            # Capped: a last good price from a tick, long before any candle, spans millions of
            # candles (e^20: no band at all, and no overflow).
            reach = math.exp(min(state.width * math.sqrt(steps), 20.0))
            low, high = ref / reach, ref * reach
        else:
            low, high = ref * state.low, ref * state.high
        for name, value in (("close", candle.close), ("open", candle.open)):
            if not low <= value <= high:
                reason = f"the {name} is {ratio(value / ref)} the last good price"
                return name, value, reason, (low, high)
        return None

    def _hold(
        self,
        state: SymbolPrices,
        candle: Candle,
        outside: tuple[str, float, str, tuple[float, float]],
    ) -> None:
        name, value, reason, band = outside
        item = self._item(candle, name, value, reason, HELD, band)
        state.held.append((candle, item))
        state.agreed = 0
        self._bound(state)
        self._mark(state, candle.symbol)
        self._note(item)

    def _bound(self, state: SymbolPrices) -> None:
        while len(state.held) > self.config.max_held:
            _, old = state.held.pop(0)
            if old is not None:
                self._note(replace(old, outcome=REJECTED, reason=f"{old.reason}; never confirmed"))

    def _after_held(self, state: SymbolPrices, candle: Candle) -> tuple[Candle, ...]:
        """A candle after held ones: it says they were a bad print (it agrees with the last good
        price: checked first, so a candle agreeing with both never confirms a print), confirms
        them (it agrees with the latest held, where no independent reading exists), or is held
        with them."""
        ref = state.ref
        if ref is not None and self._outside(state, candle, ref, state.ref_ts) is None:
            self._reject(state)
            self._count(state, candle)
            return (candle,)
        last = state.held[-1][0]
        beyond = self._outside(state, candle, last.close, last.ts)
        if beyond is None and self.checked:
            # An independent reading exists: a print repeated is no confirmation (else a
            # second ×0.001 candle confirms the first while the ticker fails).
            state.held.append((candle, None))
            self._bound(state)
            self._mark(state, candle.symbol)
            return ()
        if beyond is None:
            state.agreed += 1
            if state.agreed < self.config.confirm_candles:
                state.held.append((candle, None))
                return ()
            return self._release(state, candle)
        self._hold(state, candle, beyond)
        return ()

    def _release(self, state: SymbolPrices, candle: Candle | None) -> tuple[Candle, ...]:
        out = [held for held, _ in state.held]
        for held, item in state.held:
            if item is not None:
                self._note(replace(item, outcome=CONFIRMED))
            self._count(state, held)
        state.held.clear()
        state.agreed = 0
        if candle is not None:
            self._count(state, candle)
            out.append(candle)
        self._mark(state, out[0].symbol)
        return tuple(out)

    def _reject(self, state: SymbolPrices) -> None:
        symbol = state.held[0][0].symbol
        for _, item in state.held:
            if item is not None:
                self._note(replace(item, outcome=REJECTED))
        state.held.clear()
        state.agreed = 0
        self._mark(state, symbol)

    def second_reading(self, symbol: str, price: float) -> tuple[Candle, ...]:
        """A price read elsewhere (the venue's ticker) while ``symbol`` is held: the held
        candles are dropped when it agrees with the last good price, count at once when it
        agrees with the latest of them, and else stay held."""
        state = self._symbols.get(symbol)
        if state is None or not state.held or not (math.isfinite(price) and price > 0):
            return ()
        # The last good price first, as for a candle: a reading agreeing with both rejects.
        ref = state.ref
        if ref is not None and ref * state.low <= price <= ref * state.high:
            self._reject(state)
            return ()
        last = state.held[-1][0].close
        if last * state.low <= price <= last * state.high:
            return self._release(state, None)
        self.unsettled(symbol, "the exchange's own price agrees with neither held nor last good")
        return ()

    def _count(self, state: SymbolPrices, candle: Candle) -> None:
        """``candle`` counts: it becomes the last good price and one more measured move."""
        ref = state.ref
        if ref is not None and candle.close > 0:
            steps = (candle.ts - state.ref_ts) / candle.timeframe_ms
            ratio = candle.close / ref
            # Kept as ratios (logged when measured); one across a gap as a candle's share.
            state.moves.append(ratio ** (1 / math.sqrt(steps)) if steps > 1 else ratio)
            state.since_measured += 1
            if state.since_measured >= RECOMPUTE_EVERY:
                measure(state, self.config.min_history)
        state.ref, state.ref_ts = candle.close, candle.ts
        state.held_tick = None

    def _item(
        self,
        candle: Candle,
        name: str,
        value: float,
        reason: str,
        outcome: str,
        band: tuple[float, float] | None = None,
    ) -> Quarantined:
        low, high = band if band is not None else (None, None)
        return Quarantined(
            candle.symbol, candle.ts, name, value, reason, outcome, self.source, low, high
        )

    # -- ticks ------------------------------------------------------------------------------

    def admit_price(self, symbol: str, price: float, ts: int) -> bool:
        """Whether a price tick (a quote between candles) counts now. A suspect one is held
        until the next tick agrees with the last good price (it was a bad print) or with it (a
        real move); either way that next tick counts."""
        if not self.enabled:
            return True
        state = self._state(symbol)

        def note(value: float, reason: str, outcome: str, *band: float) -> None:
            item = Quarantined(symbol, ts, "price", value, reason, outcome, self.source, *band)
            self._note(item)

        if not (math.isfinite(price) and price > 0):
            note(price, "the price is not a positive number", DROPPED)
            return False
        low, high, held, ref = state.low, state.high, state.held_tick, state.ref
        back = ref is None or ref * low <= price <= ref * high
        if held is not None and (back or held * low <= price <= held * high):
            note(held, *(("the next tick went back", REJECTED) if back else
                         ("a tick agreed with it", CONFIRMED)))  # fmt: skip
            state.held_tick = None
            back = True
        if back or ref is None:
            state.ref = price
            self._mark(state, symbol)
            return True
        state.held_tick = price
        self._mark(state, symbol)
        reason = f"the price is {ratio(price / ref)} the last good price"
        note(price, reason, HELD, ref * low, ref * high)
        return False


__all__ = ["GuardConfig", "PriceGuard", "Quarantined"]
