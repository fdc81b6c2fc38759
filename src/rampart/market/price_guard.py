"""Market data is evidence, not truth: the one guard every price passes before it counts.

Every source ends here: the ccxt poller and websocket stream, the NATS fan-out a worker
reads, the Solana quotes and the replayed or synthetic candles all reach the engine through
:class:`~rampart.wiring.session.TradingSession`, which hands each candle (and each price
tick) to its :class:`PriceGuard` first.

Checks, in order, each in plain words when it fails:

- **impossible** (dropped): a price that is not a finite positive number, a high below the
  open or close, a low above them, a negative or missing volume;
- **grid and order** (dropped): an open time off the timeframe's grid, at or before the last
  candle of the symbol (a duplicate or one out of order);
- **freshness** (dropped, live feeds only): closed in the future or longer ago than
  ``max_age_s``;
- **move** (held): the open or the close is outside a robust band around the last good
  close — the larger of ``move_band`` and ``sigma_multiple`` robust standard deviations of the
  symbol's recent moves, widened by the square root of the candles a gap spans;
- **wick** (trimmed): a high or a low reaching further than ``wick_band`` beyond the
  candle's body is cut back to it (the body is confirmed, a wick cannot be).

A held candle is quarantined: it moves no mark, equity, drawdown peak, breaker, agent input or
Rampart-monitored stop, and entries on its symbol pause (the engine's ``suspect_symbols``).
It counts once confirmed — the next candle agrees with it (its move from the held close is
inside the band), or a second reading from the venue does — and the held candles are then
handed on in order, so a real crash trips every breaker and stop one candle later than it
printed. When the next candle instead agrees with the last good close, the held ones were a
bad print and are dropped. Fills the venue reports are facts and never pass through here.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from rampart.domain.candles import Candle
from rampart.market.guard_settings import GuardBands, PriceGuardConfig

RECOMPUTE_EVERY = 120
"""Candles between two measurements of a symbol's robust band (two medians of ``window``
moves: measured on every candle they cost more than the rest of the guard)."""
MAD_TO_SIGMA = 1.4826
"""The median absolute deviation of a normal distribution times this is its σ."""
KEEP_LISTED = 10_000
"""Quarantined prices kept for a replay's listing; later ones are counted only."""

HELD, CONFIRMED, REJECTED, DROPPED, TRIMMED = "held", "confirmed", "rejected", "dropped", "trimmed"


@dataclass(frozen=True, slots=True)
class Quarantined:
    """One price the guard did not let count as it came, and why."""

    symbol: str
    ts: int
    """The candle's open time (a tick's time), UTC ms."""
    field: str
    """Which value was wrong: open, high, low, close, volume, ts or price (a tick)."""
    value: float
    reason: str
    """In plain words, e.g. "the close is 1000× the last good close"."""
    outcome: str
    """held, confirmed (a held price that then counted), rejected (held, then the market
    said it was a bad print), dropped (impossible: never counts) or trimmed (a wick cut)."""
    source: str
    low: float | None = None
    high: float | None = None
    """The accepted range of ``value`` when a band applied."""

    @property
    def band(self) -> str:
        if self.low is None or self.high is None:
            return ""
        return f"{_num(self.low)}–{_num(self.high)}"


def _num(value: float) -> str:
    return f"{value:.6g}"


@dataclass(slots=True)
class _Symbol:
    bands: GuardBands
    last_ts: int | None = None
    """Open time of the newest candle seen that was not dropped (held or counted)."""
    ref: float | None = None
    """The last good close (or tick) every move is measured from."""
    ref_ts: int = 0
    moves: deque[float] = field(default_factory=deque)
    width: float = 0.0
    """The move band's half-width for one candle, in log units."""
    low: float = 0.0
    high: float = 0.0
    """exp(∓width): a close or open of one candle later counts between ref·low and ref·high."""
    reach: float = 1.0
    """exp(wick_band): how far a high may go past the body (a low below it, divided)."""
    since_measured: int = RECOMPUTE_EVERY
    held: list[tuple[Candle, Quarantined | None]] = field(default_factory=list)
    """Held candles in order: the suspect ones with why, and (None) the ones after them that
    agreed, while fewer than ``confirm_candles`` have."""
    held_tick: float | None = None
    agreed: int = 0
    """Candles since the last held one that agreed with it (``confirm_candles`` needed)."""


Listener = Callable[[Quarantined], None]


class PriceGuard:
    """Checks candles and ticks of every symbol; see the module's docstring."""

    def __init__(
        self,
        config: PriceGuardConfig,
        source: str,
        *,
        suspect: set[str] | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.enabled = config.enabled
        self.suspect: set[str] = suspect if suspect is not None else set()
        """Symbols with a held price (the engine's ``suspect_symbols``: no entries on them)."""
        self.listener = listener
        self.listed: list[Quarantined] = []
        self.counts: dict[str, int] = {}
        """Quarantined prices by outcome, all of them (``listed`` keeps the first ones)."""
        self._symbols: dict[str, _Symbol] = {}

    # -- state ------------------------------------------------------------------------------

    def _state(self, symbol: str) -> _Symbol:
        state = self._symbols.get(symbol)
        if state is None:
            bands = self.config.bands(symbol)
            state = self._symbols[symbol] = _Symbol(
                bands,
                moves=deque(maxlen=self.config.window),
                reach=math.exp(bands.wick_band),
                # First measured as soon as there are min_history moves, then every
                # RECOMPUTE_EVERY.
                since_measured=RECOMPUTE_EVERY - self.config.min_history,
            )
            _set_width(state, bands.cold_band)
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

    def held_symbols(self) -> dict[str, int]:
        return {s: n for s in self._symbols if (n := self.held(s))}

    def _note(self, item: Quarantined) -> None:
        self.counts[item.outcome] = self.counts.get(item.outcome, 0) + 1
        if len(self.listed) < KEEP_LISTED:
            self.listed.append(item)
        if self.listener is not None:
            self.listener(item)

    def _mark(self, state: _Symbol, symbol: str) -> None:
        if state.held or state.held_tick is not None:
            self.suspect.add(symbol)
        else:
            self.suspect.discard(symbol)

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
                    and candle.volume >= 0
                ):
                    state.last_ts = state.ref_ts = ts
                    state.ref = c
                    state.moves.append(math.log(c / ref))
                    state.since_measured += 1
                    if state.since_measured >= RECOMPUTE_EVERY:
                        self._measure(state)
                    return (candle,)
        wrong = _impossible(candle) or self._out_of_place(state, candle, now_ms)
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
            if outside is not None:
                self._hold(state, candle, outside)
                return ()
        self._count(state, candle)
        return (candle,)

    def _out_of_place(
        self, state: _Symbol, candle: Candle, now_ms: int | None
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

    def _trim(self, state: _Symbol, candle: Candle) -> Candle:
        reach = state.reach
        top, bottom = max(candle.open, candle.close), min(candle.open, candle.close)
        high, low = candle.high, candle.low
        if high <= top * reach and low >= bottom / reach:
            return candle
        if high > top * reach:
            self._note(
                self._item(
                    candle,
                    "high",
                    high,
                    "the high reaches far past the body",
                    TRIMMED,
                    (bottom / reach, top * reach),
                )
            )
            high = top * reach
        if low < bottom / reach:
            self._note(
                self._item(
                    candle,
                    "low",
                    low,
                    "the low reaches far below the body",
                    TRIMMED,
                    (bottom / reach, top * reach),
                )
            )
            low = bottom / reach
        return replace(candle, high=high, low=low)

    def _outside(
        self, state: _Symbol, candle: Candle, ref: float, ref_ts: int
    ) -> tuple[str, float, str, tuple[float, float]] | None:
        """What of the candle lies outside the move band around ``ref``, if anything."""
        steps = (candle.ts - ref_ts) / candle.timeframe_ms
        if steps > 1:
            reach = math.exp(state.width * math.sqrt(steps))
            low, high = ref / reach, ref * reach
        else:
            low, high = ref * state.low, ref * state.high
        for name, value in (("close", candle.close), ("open", candle.open)):
            if not low <= value <= high:
                return (
                    name,
                    value,
                    f"the {name} is {_ratio(value / ref)} the last good price",
                    (
                        low,
                        high,
                    ),
                )
        return None

    def _hold(
        self, state: _Symbol, candle: Candle, outside: tuple[str, float, str, tuple[float, float]]
    ) -> None:
        name, value, reason, band = outside
        item = self._item(candle, name, value, reason, HELD, band)
        state.held.append((candle, item))
        state.agreed = 0
        while len(state.held) > self.config.max_held:
            _, old = state.held.pop(0)
            if old is not None:
                self._note(replace(old, outcome=REJECTED, reason=f"{old.reason}; never confirmed"))
        self._mark(state, candle.symbol)
        self._note(item)

    def _after_held(self, state: _Symbol, candle: Candle) -> tuple[Candle, ...]:
        """A candle after held ones: it confirms them, says they were a bad print, or is held
        with them."""
        last = state.held[-1][0]
        beyond = self._outside(state, candle, last.close, last.ts)
        if beyond is None:
            state.agreed += 1
            if state.agreed < self.config.confirm_candles:
                state.held.append((candle, None))
                return ()
            return self._release(state, candle)
        ref = state.ref
        if ref is not None and self._outside(state, candle, ref, state.ref_ts) is None:
            self._reject(state)
            self._count(state, candle)
            return (candle,)
        self._hold(state, candle, beyond)
        return ()

    def _release(self, state: _Symbol, candle: Candle | None) -> tuple[Candle, ...]:
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

    def _reject(self, state: _Symbol) -> None:
        symbol = state.held[0][0].symbol
        for _, item in state.held:
            if item is not None:
                self._note(replace(item, outcome=REJECTED))
        state.held.clear()
        state.agreed = 0
        self._mark(state, symbol)

    def second_reading(self, symbol: str, price: float) -> tuple[Candle, ...]:
        """A price read elsewhere (the venue's ticker) while ``symbol`` is held: the held
        candles count at once when it agrees with the latest of them; they are dropped when
        it agrees with the last good price instead; else they stay held."""
        state = self._symbols.get(symbol)
        if state is None or not state.held or not (math.isfinite(price) and price > 0):
            return ()
        last = state.held[-1][0].close
        if last * state.low <= price <= last * state.high:
            return self._release(state, None)
        if state.ref is not None and state.ref * state.low <= price <= state.ref * state.high:
            self._reject(state)
        return ()

    def _count(self, state: _Symbol, candle: Candle) -> None:
        """``candle`` counts: it becomes the last good price and one more measured move."""
        ref = state.ref
        if ref is not None and candle.close > 0:
            steps = (candle.ts - state.ref_ts) / candle.timeframe_ms
            move = math.log(candle.close / ref)
            state.moves.append(move / math.sqrt(steps) if steps > 1 else move)
            state.since_measured += 1
            if state.since_measured >= RECOMPUTE_EVERY:
                self._measure(state)
        state.ref, state.ref_ts = candle.close, candle.ts
        state.held_tick = None

    def _measure(self, state: _Symbol) -> None:
        state.since_measured = 0
        bands = state.bands
        if len(state.moves) < self.config.min_history:
            _set_width(state, bands.cold_band)
            return
        moves = np.fromiter(state.moves, dtype=np.float64, count=len(state.moves))
        sigma = MAD_TO_SIGMA * float(np.median(np.abs(moves - np.median(moves))))
        _set_width(state, max(bands.move_band, bands.sigma_multiple * sigma))

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
        """Whether a price tick (a quote between candles) counts now; a suspect one is held
        until the next tick agrees with it (then that one counts) or with the last good price."""
        if not self.enabled:
            return True
        state = self._state(symbol)
        if not (math.isfinite(price) and price > 0):
            self._note(
                Quarantined(
                    symbol,
                    ts,
                    "price",
                    price,
                    "the price is not a positive number",
                    DROPPED,
                    self.source,
                )
            )
            return False
        low, high = state.low, state.high
        held = state.held_tick
        if held is not None and held * low <= price <= held * high:
            self._note(
                Quarantined(
                    symbol, ts, "price", held, "a tick agreed with it", CONFIRMED, self.source
                )
            )
            state.held_tick = None
            state.ref = price
            self._mark(state, symbol)
            return True
        ref = state.ref
        if ref is None or ref * low <= price <= ref * high:
            if held is not None:
                self._note(
                    Quarantined(
                        symbol, ts, "price", held, "the next tick went back", REJECTED, self.source
                    )
                )
                state.held_tick = None
                self._mark(state, symbol)
            state.ref = price
            return True
        state.held_tick = price
        self._mark(state, symbol)
        self._note(
            Quarantined(
                symbol,
                ts,
                "price",
                price,
                f"the price is {_ratio(price / ref)} the last good price",
                HELD,
                self.source,
                ref * low,
                ref * high,
            )
        )
        return False


def _set_width(state: _Symbol, width: float) -> None:
    state.width = width
    state.high = math.exp(width)
    state.low = 1 / state.high


def _impossible(candle: Candle) -> tuple[str, float, str] | None:
    for name in ("open", "high", "low", "close"):
        value = getattr(candle, name)
        if not (isinstance(value, float | int) and math.isfinite(value) and value > 0):
            return name, float(value), f"the {name} is not a positive number"
    volume = candle.volume
    if not (math.isfinite(volume) and volume >= 0):
        return "volume", float(volume), "the volume is negative or missing"
    if candle.high < max(candle.open, candle.close):
        return "high", candle.high, "the high is below the open or the close"
    if candle.low > min(candle.open, candle.close):
        return "low", candle.low, "the low is above the open or the close"
    return None


def _ratio(ratio: float) -> str:
    return f"{ratio:.4g}×"


__all__ = ["PriceGuard", "Quarantined"]
