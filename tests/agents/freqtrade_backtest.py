"""A backtest written from Freqtrade's documented backtesting rules, with Rampart's fill model as
switches: the reference tests/agents/test_freqtrade_trades.py holds Rampart's replay to.

Freqtrade's rules (its backtesting page, "Assumptions made by backtesting"; one trade at a time
on one pair, no position stacking):

- an entry signal on candle i (with no exit signal on it) enters at candle i+1's open, when no
  trade is open at that candle's start; an exit signal on candle i (with no entry signal on it)
  exits at candle i+1's open;
- the exit signal is evaluated first, then the stoploss, then ROI, on every candle of the trade,
  its entry candle included; the stop is ``stoploss`` below the entry's price and fills at the
  stop price (at the open when the whole candle is below it: no fill outside the candle);
- ROI: the rung in effect is the last whose minute the trade's age (candle open minus entry
  candle open) has reached; the candle's high is compared with the price that makes that rung's
  profit net of both fees, and the exit is at that price, never below the candle's low; a rung
  that came into effect on the candle exits at the open when the open is past its price;
- a trade still open at the end is force-exited at the last candle's close.

The ROI price here is the one whose profit, net of both fees, is the rung's, as the page says
("the ROI value is used"); Freqtrade's code prices it a hair lower, at
``open_rate * (1 + fee + roi) / (1 - fee)`` (0.4 bps under at a 4 % rung and 0.1 % fees).

Each :class:`Rules` switch replaces one of those rules by Rampart's (docs/authors/from-freqtrade.md,
*Fills*): with every switch on, the trades equal Rampart's replay but for slippage, which the
test bounds on each price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from rampart.agents.roi import RoiStop
from rampart.domain.instruments import Instrument
from rampart.domain.money import ceil_to_step, floor_to_step
from rampart.domain.orders import Side
from rampart.venues.pricing import SlippageModel, adverse_price

FIVE_MINUTES = 5
PARTICIPATION = Decimal("0.10")


@dataclass(frozen=True)
class Rules:
    """Rampart's fill model, one rule at a time (False: Freqtrade's)."""

    bracket_from_close: bool = False
    """The stop and the first rung's target are priced from the close the entry was decided on
    (rounded to the tick, the stop down and the target up), not from the entry's fill."""
    gap_at_open: bool = False
    """A stop the candle opened below fills at the open, not at the stop price."""
    target_at_its_price: bool = False
    """The first rung's target rests as a limit sell and fills at its own price, even on a candle
    that opened above it (Freqtrade: never below the candle's low)."""
    roi_at_close: bool = False
    """Only the first rung's target rests on the venue; the rung in effect (priced from the
    entry's fill) is otherwise reached at a candle's close and sold at the next open (Freqtrade:
    within the candle, at the rung's price, from the candle's high)."""
    slippage: bool = False
    """Market and stop fills move against the trade by 2 bps plus 10 bps times the order's share
    of the candle's volume (rampart.venues.pricing.SlippageModel), rounded to the tick."""
    volume_cap: bool = False
    """A market or stop sell fills at most 10 % of a candle's volume (floored to the lot); the
    rest sells at the next candles' opens, and the exit's price is the average."""

    def with_(self, name: str) -> Rules:
        return replace(self, **{name: True})


RAMPART_RULES = tuple(Rules.__dataclass_fields__)


@dataclass(frozen=True)
class Trade:
    entry: int
    """The candle whose open the trade entered at."""
    exit: int
    """The candle the trade left on (at its open for a signal or a rung reached at a close)."""
    kind: str
    """``signal``, ``stop``, ``roi`` (within the candle), ``roi_close`` (a rung reached at the
    last close, sold at the open) or ``end`` (force-exited at the last close)."""
    entry_price: Decimal
    exit_price: Decimal

    @property
    def times(self) -> tuple[int, int, str]:
        return self.entry, self.exit, self.kind

    @property
    def as_replayed(self) -> tuple[int, int, str, Decimal, Decimal]:
        """What the replay's trades.csv holds of it (its exit_reason for the kind)."""
        reason = {"stop": "stop_loss", "roi": "take_profit"}.get(self.kind, "exit")
        return self.entry, self.exit, reason, self.entry_price, self.exit_price


def _dec(x: float) -> Decimal:
    return Decimal(str(x))


def backtest(
    df: Any,
    enter: Sequence[bool],
    leave: Sequence[bool],
    exits: RoiStop,
    start: int,
    instrument: Instrument,
    rules: Rules = Rules(),
    fills: Mapping[int, tuple[Decimal, Decimal]] | None = None,
) -> list[Trade]:
    """The trades of one strategy on one pair's candles (``df``: open, high, low, close,
    volume), trading from candle ``start`` on. ``fills``: the entry price and quantity the
    replay bought at, by entry candle (``rules.slippage`` takes the entry's price from there and
    slips the exits by that quantity's share of the exit candle's volume)."""
    opens = [_dec(x) for x in df["open"]]
    highs = [_dec(x) for x in df["high"]]
    lows = [_dec(x) for x in df["low"]]
    closes = [_dec(x) for x in df["close"]]
    volumes = [_dec(x) for x in df["volume"]]
    slip, tick = SlippageModel(), instrument.tick_size
    trades: list[Trade] = []
    held: _Held | None = None
    n = len(opens)

    def sold(qty: Decimal, price: Decimal, i: int) -> Decimal:
        if not rules.slippage:
            return price
        return adverse_price(price, Side.SELL, slip.fraction(qty, volumes[i]), tick)

    def leave_at(i: int, kind: str, price: Decimal, taker: bool = True) -> int:
        """Close the trade from candle ``i`` on; the candle its last part sold on."""
        nonlocal held
        assert held is not None
        left, parts = held.qty, []
        if taker and rules.volume_cap and kind != "end":
            # Each candle sells what its volume allows; the rest at the next opens.
            while left > 0 and i < n:
                cap = instrument.floor_qty(PARTICIPATION * volumes[i]) if volumes[i] else left
                part = min(left, cap)
                if part > 0:
                    parts.append((part, sold(part, price, i) if taker else price))
                    left -= part
                if left > 0:
                    i += 1
                    price = opens[i] if i < n else price
        if not parts:
            price = sold(held.qty, price, i) if taker else price
        else:
            price = sum((q * p for q, p in parts), Decimal(0)) / sum(q for q, _ in parts)
            price = parts[0][1] if len(parts) == 1 else price
        i = min(i, n - 1)
        trades.append(Trade(held.entry, i, kind, held.price, price))
        held = None
        return i

    i = start
    while i + 1 < n:
        i += 1
        o, h, lo = opens[i], highs[i], lows[i]
        if held is None:
            if not (enter[i - 1] and not leave[i - 1]):
                continue
            price, qty = o, Decimal(0)
            if rules.slippage and fills is not None and i in fills:
                price, qty = fills[i]
            if rules.bracket_from_close:
                stop, target = exits.bracket(closes[i - 1])
                stop, target = floor_to_step(stop, tick), ceil_to_step(target, tick)
            else:
                stop, target = exits.bracket(price)
            held = _Held(i, price, qty, stop, target)
        signal = leave[i - 1] and not enter[i - 1] and i > held.entry
        if signal or held.close_due:
            i = leave_at(i, "signal" if signal else "roi_close", o)
        elif lo <= held.stop:
            if rules.gap_at_open:
                i = leave_at(i, "stop", min(o, held.stop))
            else:
                i = leave_at(i, "stop", held.stop if held.stop <= h else o)
        else:
            out = _roi(exits, rules, i, held, o, h, lo)
            if out is not None:
                i = leave_at(i, "roi", out, taker=False)
            elif rules.roi_at_close:
                minutes = (i - held.entry) * FIVE_MINUTES
                held.close_due = closes[i] >= exits.target(held.price, minutes)
    if held is not None:
        leave_at(n - 1, "end", closes[-1])
    return trades


@dataclass
class _Held:
    entry: int
    price: Decimal
    qty: Decimal
    stop: Decimal
    target: Decimal
    close_due: bool = False
    """The rung in effect was reached at the last close: sold at this candle's open."""


def _roi(
    exits: RoiStop, rules: Rules, i: int, held: _Held, o: Decimal, h: Decimal, lo: Decimal
) -> Decimal | None:
    """The price a ROI exit on candle ``i`` sells at, or None."""
    target = held.target
    if rules.roi_at_close:
        if h < target:
            return None
        return target if rules.target_at_its_price else max(target, lo)
    minutes = (i - held.entry) * FIVE_MINUTES
    first = exits.roi_at(minutes) == exits.rungs[0][1]
    rate = target if first else exits.target(held.price, minutes)
    if h < rate:
        return None
    if minutes > 0 and any(at == minutes for at, _ in exits.rungs) and o >= rate:
        return o  # a rung that came into effect on this candle, the open past its price
    return rate if rules.target_at_its_price else max(rate, lo)
