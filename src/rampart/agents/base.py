"""The agent interface: a read-only view in, intents out.

An agent's indicator state depends only on the candles it has been fed, never on an account,
so the engine keeps one instance per (agent, params, symbol) and asks it on behalf of every
account trading that symbol; a restart rebuilds it by feeding the candles again.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Protocol, runtime_checkable

from rampart.agents.informative import NO_SERIES, SeriesKey
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.fills import Fill
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.money import HUNDRED, ONE, ZERO, ceil_to_step, dec, floor_to_step
from rampart.domain.orders import Side
from rampart.domain.positions import Position


@dataclass(frozen=True, slots=True)
class AgentConstraints:
    """Bracket limits from the account's risk profile, so proposals pass the risk engine.

    ``min_stop``/``max_stop`` are fractions of the entry price (0.01 = 1 %).
    """

    min_stop: Decimal
    max_stop: Decimal
    min_rr: Decimal

    def __post_init__(self) -> None:
        if not ZERO <= self.min_stop <= self.max_stop < ONE or self.max_stop == ZERO:
            raise ValueError(
                f"stop limits must satisfy 0 <= min_stop <= max_stop < 1 with max_stop > 0, "
                f"not {self.min_stop} and {self.max_stop}"
            )
        if self.min_rr < ZERO:
            raise ValueError(f"minimum reward:risk cannot be negative, not {self.min_rr}")


@dataclass(frozen=True, slots=True)
class AgentView:
    """What an agent may look at for one decision. ``history`` is shared: never modify it."""

    account_id: str
    symbol: str
    candle: Candle
    """The bar that just closed."""
    history: Sequence[Candle]
    """Recent bars, oldest first, ending with ``candle``."""
    instrument: Instrument
    equity: Decimal
    cash: Decimal
    position: Position | None
    constraints: AgentConstraints
    ts: int
    """Decision time in UTC milliseconds (the bar's close on the engine's clock)."""
    informative: Mapping[SeriesKey, Sequence[Candle]] = field(default_factory=lambda: NO_SERIES)
    """The series the agent declares in ``informative`` (``rampart.agents.informative``), by
    (symbol, timeframe): closed bars only, oldest first, read-only."""

    def series(self, symbol_or_timeframe: str, timeframe: str | None = None) -> Sequence[Candle]:
        """A declared series' closed bars: ``series("ETH/BTC", "1h")``, or ``series("4h")``
        for the agent's own symbol. An undeclared one is refused in plain words."""
        if timeframe is None:
            key = (self.symbol, symbol_or_timeframe)
        else:
            key = (symbol_or_timeframe, timeframe)
        try:
            return self.informative[key]
        except KeyError:
            raise KeyError(
                f"{key[0]} {key[1]} is not among the series this agent declares in "
                f"informative ({', '.join(' '.join(k) for k in self.informative) or 'none'})"
            ) from None


_VIEW_FIELDS = (
    "account_id",
    "symbol",
    "candle",
    "history",
    "instrument",
    "equity",
    "cash",
    "position",
    "constraints",
    "ts",
    "informative",
)
if tuple(f.name for f in fields(AgentView)) != _VIEW_FIELDS:  # pragma: no cover - a new field
    raise TypeError("agent_view sets AgentView's fields by name: list every one, in order")
_new = object.__new__
(
    _set_account_id,
    _set_symbol,
    _set_candle,
    _set_history,
    _set_instrument,
    _set_equity,
    _set_cash,
    _set_position,
    _set_constraints,
    _set_ts,
    _set_informative,
) = (getattr(AgentView, name).__set__ for name in _VIEW_FIELDS)


def agent_view(
    account_id: str,
    symbol: str,
    candle: Candle,
    history: Sequence[Candle],
    instrument: Instrument,
    equity: Decimal,
    cash: Decimal,
    position: Position | None,
    constraints: AgentConstraints,
    ts: int,
    informative: Mapping[SeriesKey, Sequence[Candle]] = NO_SERIES,
) -> AgentView:
    """``AgentView(...)`` with the same fields, built without the frozen dataclass's
    ``object.__setattr__`` per field: the engine builds one per account on every candle, and
    this takes about half the time."""
    view: AgentView = _new(AgentView)
    _set_account_id(view, account_id)
    _set_symbol(view, symbol)
    _set_candle(view, candle)
    _set_history(view, history)
    _set_instrument(view, instrument)
    _set_equity(view, equity)
    _set_cash(view, cash)
    _set_position(view, position)
    _set_constraints(view, constraints)
    _set_ts(view, ts)
    _set_informative(view, informative)
    return view


@runtime_checkable
class Agent(Protocol):
    """What the engine asks of an agent, and all it asks: on every candle ``update``, then
    ``quiet``; unless quiet, ``decide_async`` once per account on the symbol, with a view of
    that account. :class:`AgentBase` supplies ``quiet`` and ``decide_async`` for an agent that
    only writes ``decide``; an agent missing a member is refused when its account is added."""

    name: str
    warmup: int
    """Bars needed before the first decision."""
    quiet: bool
    """True when ``decide`` returns [] for every view of the bar last seen (warming up, no
    signal on it), whatever the account holds: the engine then builds no view and asks no
    account. An agent that cannot tell keeps it False and is asked on every bar."""

    def update(self, candle: Candle) -> None:
        """Advance the indicators by one closed bar."""

    def decide(self, view: AgentView) -> list[Intent]:
        """Intents for this view. Must not change the agent; returns [] while warming up."""

    async def decide_async(self, view: AgentView) -> list[Intent]:
        """What the engine awaits for a decision: ``decide`` for an agent that answers at
        once; an agent that must wait on I/O (the LLM agent's model call) awaits it here, so
        a replay stays deterministic (the candle waits for the answer)."""
        ...


class AgentBase:
    """The :class:`Agent` members an agent answering at once need not write: never quiet
    (asked on every bar) and ``decide_async`` returning ``decide``.

    And the optional callbacks, each called only when a subclass overrides it, each
    under the agent's deadline and its answer checked at the boundary like a decision's
    (``rampart.trading.callbacks``; docs/authors/agents.md)."""

    quiet: bool = False
    informative: tuple[object, ...] = ()
    """Other symbols and timeframes the view holds (``rampart.agents.informative``)."""

    def decide(self, view: AgentView) -> list[Intent]:
        raise NotImplementedError

    async def decide_async(self, view: AgentView) -> list[Intent]:
        return self.decide(view)

    def on_start(self) -> None:
        """Once, before the agent's first decision."""

    def confirm_entry(self, view: AgentView, intent: Intent, qty: Decimal) -> bool:
        """A last look at an entry the risk engine approved for ``qty``: False vetoes it."""
        del view, intent, qty
        return True

    def confirm_exit(self, view: AgentView, intent: Intent) -> bool:
        """A last look at a close or a reduction the agent asked for: False vetoes it (a stop
        or a target on the exchange is never asked)."""
        del view, intent
        return True

    def stake(self, view: AgentView, intent: Intent, largest: Decimal) -> Decimal:
        """The quantity to buy, at most ``largest`` (the risk engine's size for the intent):
        more is clamped to it, 0 vetoes the entry."""
        del view, intent
        return largest

    def on_fill(self, fill: Fill) -> None:
        """A fill of one of its accounts' orders (``fill.account_id``), told before that
        account's next decision."""


def bracket_from_atr(
    entry: Decimal,
    atr: float,
    k: float,
    target_rr: Decimal,
    constraints: AgentConstraints,
    instrument: Instrument,
) -> tuple[Decimal, Decimal]:
    """Stop-loss and take-profit for a long entered at ``entry``.

    The stop sits ``k`` × ATR below the entry, kept within the profile's stop limits and on a
    tick (rounded down, nudged back inside the limits when rounding pushed it out); the
    take-profit is at least ``max(target_rr, min_rr)`` times the risk above the entry,
    rounded up. Raises ValueError when no tick satisfies the limits.
    """
    if not entry.is_finite() or entry <= ZERO:
        raise ValueError(f"entry price must be positive, not {entry}")
    if not math.isfinite(atr) or atr < 0:
        raise ValueError(f"ATR must be a non-negative number, not {atr!r}")
    if not math.isfinite(k) or k < 0:
        raise ValueError(f"ATR multiple must be a non-negative number, not {k!r}")
    if not target_rr.is_finite() or target_rr <= ZERO:
        raise ValueError(f"target reward:risk must be positive, not {target_rr}")
    tick = instrument.tick_size
    if tick <= ZERO:
        raise ValueError(f"{instrument.symbol} has no positive tick size to put a stop on")
    min_dist = constraints.min_stop * entry
    max_dist = constraints.max_stop * entry
    lowest = ceil_to_step(entry - max_dist, tick)
    highest = floor_to_step(entry - min_dist, tick)
    if lowest <= ZERO:
        lowest = tick
    if highest >= entry:
        # Only when min_stop is 0: the stop must still be strictly below the entry.
        highest = ceil_to_step(entry, tick) - tick
    if lowest > highest:
        raise ValueError(
            f"no stop on the {tick:f} tick lies {pct_text(constraints.min_stop)}–"
            f"{pct_text(constraints.max_stop)} below the entry {entry:f}"
        )
    dist = min(max(dec(k * atr), min_dist), max_dist)
    stop = min(max(floor_to_step(entry - dist, tick), lowest), highest)
    rr = max(target_rr, constraints.min_rr)
    take_profit = ceil_to_step(entry + rr * (entry - stop), tick)
    return stop, take_profit


def pct_text(fraction: Decimal) -> str:
    """0.0213 → '2.1 %'."""
    return f"{(fraction * HUNDRED).quantize(Decimal('0.1'))} %"


def num_text(x: float, significant: int = 6) -> str:
    """A price or indicator as plain digits with at most ``significant`` significant figures.

    Never scientific notation, so tiny BTC-quoted prices read as 0.00003127, not 3.127e-05.
    """
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    decimals = max(0, significant - 1 - math.floor(math.log10(abs(x))))
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def close_text(view: AgentView) -> str:
    """The bar's close exactly as published, in plain digits."""
    return format(dec(view.candle.close), "f")


def clamp01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


# -- parameter checks (agents raise ConfigError naming the parameter) ---------------------------


def check_int(agent: str, name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(
            f"Parameter '{name}' of agent '{agent}' must be a whole number of at least "
            f"{minimum}, not {value!r}."
        )
    return value


def check_float(agent: str, name: str, value: object, low: float, high: float) -> float:
    """A number in (low, high]."""
    number = math.nan
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    if not (math.isfinite(number) and low < number <= high):
        raise ConfigError(
            f"Parameter '{name}' of agent '{agent}' must be a number above {low:g} and at most "
            f"{high:g}, not {value!r}."
        )
    return number


def check_decimal(agent: str, name: str, value: object, low: Decimal, high: Decimal) -> Decimal:
    """A number in (low, high], kept exact."""
    number = Decimal("NaN")
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        with contextlib.suppress(ArithmeticError):
            number = dec(value)
    if not (number.is_finite() and low < number <= high):
        raise ConfigError(
            f"Parameter '{name}' of agent '{agent}' must be a number above {low} and at most "
            f"{high}, not {value!r}."
        )
    return number


# -- shared machinery of the rule agents --------------------------------------------------------


class RuleAgent(AgentBase, ABC):
    """Bar bookkeeping shared by the rule agents; subclasses implement ``_advance``/``_decide``.

    ``update`` ignores a bar at or before the last one it saw: feeds repeat the last bar after
    a reconnect and a restart may re-feed an overlap, and indicators cannot go back in time.
    ``decide`` answers only for the bar the agent last saw, so a view the agent was never
    updated for can never trigger an entry on stale signals.

    ``quiet`` says that ``decide`` returns [] for every view of the bar last seen (warming
    up, or no signal on it), so the engine need not build a view per account to ask: on most
    bars a rule agent has nothing to say.
    """

    name: str
    description: str
    warmup: int

    def __init__(self, size_hint: object) -> None:
        self.size_hint = check_decimal(self.name, "size_hint", size_hint, ZERO, ONE)
        self.symbol: str | None = None
        self.last_ts: int | None = None
        self.bars = 0
        self.quiet = True

    def update(self, candle: Candle) -> None:
        # Runs on every candle: each attribute read once.
        symbol = self.symbol
        if symbol is None:
            self.symbol = candle.symbol
        elif candle.symbol != symbol:
            raise ValueError(
                f"agent {self.name} follows {symbol} and cannot take a {candle.symbol} bar"
            )
        last, ts = self.last_ts, candle.ts
        if last is None or ts > last:
            self.last_ts = ts
            bars = self.bars = self.bars + 1
            self._advance(candle)
        elif ts < last:
            return
        else:
            bars = self.bars
        # A new bar, or the same bar again (perhaps revised): decide reads this one's prices.
        self.quiet = bars < self.warmup or self._quiet(candle)

    def decide(self, view: AgentView) -> list[Intent]:
        if self.bars < self.warmup or view.candle.ts != self.last_ts:
            return []
        return self._decide(view)

    @abstractmethod
    def _advance(self, candle: Candle) -> None:
        """Update this agent's indicators with one closed candle."""

    @abstractmethod
    def _decide(self, view: AgentView) -> list[Intent]:
        """Propose intents for a view whose candle the indicators have seen."""

    def _quiet(self, candle: Candle) -> bool:
        """Whether ``_decide`` returns [] for every view of ``candle`` (just advanced over),
        whatever the account holds. An agent that cannot tell says False."""
        del candle
        return False

    @staticmethod
    def holding(view: AgentView) -> bool:
        return view.position is not None and view.position.qty > ZERO

    def open_long(
        self,
        view: AgentView,
        atr: float,
        k: float,
        target_rr: Decimal,
        confidence: float,
        reason: str,
    ) -> list[Intent]:
        """A long with an ATR bracket; [] when no valid bracket exists on this instrument."""
        entry = dec(view.candle.close)
        try:
            stop, take_profit = bracket_from_atr(
                entry, atr, k, target_rr, view.constraints, view.instrument
            )
        except ValueError:
            # The tick is too coarse for this profile's stop limits (or the bar is broken): the
            # risk engine could not accept any bracket, so proposing one would only be noise.
            return []
        stop_frac = (entry - stop) / entry
        raw = dec(k * atr) / entry
        limits = view.constraints
        atr_text = f"ATR×{num_text(k, 3)}"
        if raw < limits.min_stop:
            how = f"({atr_text} would be {pct_text(raw)}, under the profile's minimum)"
        elif raw > limits.max_stop:
            how = f"({atr_text} would be {pct_text(raw)}, over the profile's maximum)"
        else:
            how = f"at {atr_text}"
        rr = (take_profit - entry) / (entry - stop)
        rationale = (
            f"{reason}; stop {pct_text(stop_frac)} below {how}, "
            f"target {rr.quantize(Decimal('0.01'))}R."
        )
        return [
            Intent(
                account_id=view.account_id,
                symbol=view.symbol,
                side=Side.BUY,
                action=IntentAction.OPEN,
                entry_price=entry,
                stop_loss=stop,
                take_profit=take_profit,
                size_hint=self.size_hint,
                confidence=clamp01(confidence),
                rationale=rationale,
                agent=self.name,
                ts=view.ts,
            )
        ]

    def close_long(self, view: AgentView, confidence: float, reason: str) -> list[Intent]:
        return [
            Intent(
                account_id=view.account_id,
                symbol=view.symbol,
                side=Side.SELL,
                action=IntentAction.CLOSE,
                entry_price=dec(view.candle.close),
                size_hint=ONE,
                confidence=clamp01(confidence),
                rationale=f"{reason}; closing the long.",
                agent=self.name,
                ts=view.ts,
            )
        ]
