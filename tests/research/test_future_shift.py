"""The lookahead check's moved market (``research/future_shift.py``), in this process: the
check runs the agent in its sandbox's child process, where mutation testing's bookkeeping does
not see this module, so its rules are stated here directly (the mutation area ``lookahead``);
with the check's own sampling of quiet candles and the words of a change."""

from __future__ import annotations

from decimal import Decimal

from rampart.domain.candles import Candle
from rampart.domain.instruments import Instrument
from rampart.domain.intents import Intent, IntentAction
from rampart.domain.orders import Side
from rampart.research.future_shift import (
    WEEK_MS,
    Moved,
    compare,
    shift_of,
    shifted_candles,
    shifted_instrument,
)
from rampart.research.lookahead import Change, _spread
from rampart.research.signals import Decision

D = Decimal
HOUR = 3_600_000


def _candle(ts: int, close: float = 100.5) -> Candle:
    return Candle("ETH/BTC", ts, 100.25, 101.5, 99.75, close, 7.5, HOUR)


def _buy(price: str, stop: str, take: str) -> Intent:
    return Intent("a", "ETH/BTC", Side.BUY, IntentAction.OPEN, D(price), D(stop), D(take))


def test_the_shift_is_whole_weeks_past_the_end_of_the_data() -> None:
    assert shift_of([]) == WEEK_MS
    short = [_candle(0), _candle(HOUR)]  # two hours: the shift is two weeks
    assert shift_of(short) == 2 * WEEK_MS
    week = [_candle(0), _candle(WEEK_MS - HOUR)]  # exactly one week to the last close
    assert shift_of(week) == 3 * WEEK_MS
    # Data that starts late: the span is from its first open to its last close.
    late = [_candle(10 * WEEK_MS), _candle(10 * WEEK_MS + HOUR), _candle(11 * WEEK_MS)]
    assert shift_of(late) == 3 * WEEK_MS
    for candles in (short, week, late):
        moved = shifted_candles(candles, shift_of(candles))
        assert moved[0].ts > candles[-1].close_ts  # no moved time is one of the original's


def test_the_moved_candles_have_doubled_prices_and_the_same_volume_and_timeframe() -> None:
    (moved,) = shifted_candles([_candle(5 * HOUR)], 2 * WEEK_MS)
    assert moved == Candle("ETH/BTC", 5 * HOUR + 2 * WEEK_MS, 200.5, 203.0, 199.5, 201.0, 7.5, HOUR)


def test_the_moved_instrument_has_a_doubled_tick_and_minimum_notional() -> None:
    original = Instrument.for_price("ETH/BTC", 0.05)
    moved = shifted_instrument(original)
    assert (moved.tick_size, moved.min_notional) == (
        original.tick_size * 2,
        original.min_notional * 2,
    )
    assert (moved.symbol, moved.lot_size, moved.min_qty) == (
        original.symbol,
        original.lot_size,
        original.min_qty,
    )


def test_decisions_that_only_doubled_are_the_same_and_others_are_named_by_candle() -> None:
    flat = _buy("100", "98", "105")
    held = _buy("100", "97", "104")
    original = {
        3: Decision(3, 30, (flat,), (held,)),
        1: Decision(1, 10, (flat,), ()),
        2: Decision(2, 20, (), (held,)),
        0: Decision(0, 0, (flat,), ()),
    }
    moved = {
        1: Decision(1, 10, (_buy("200", "196", "210"),), ()),  # doubled: the same
        2: Decision(2, 20, (), (_buy("200", "194", "210"),)),  # holding: a target moved
        3: Decision(3, 30, (_buy("200", "190", "210"),), (_buy("200", "194", "208"),)),
        # 0: not asked on the moved market (the first, so the others are still compared)
    }
    found = compare(original, moved, 3 * WEEK_MS)
    assert [(m.original.index, m.weeks) for m in found] == [(2, 3), (3, 3)]
    assert "the times 3 weeks later" in found[0].describe()
    halved = found[1].moved
    assert (halved.flat[0].entry_price, halved.flat[0].stop_loss, halved.flat[0].take_profit) == (
        D(100),
        D(95),
        D(105),
    )
    assert halved.holding == (held,)
    assert found[0].moved.holding[0].take_profit == D(105)


def test_a_moved_decision_says_what_changed_and_how_far_the_market_moved() -> None:
    before = Decision(6, 60, (_buy("100", "98", "105"),), ())
    after = Decision(6, 60, (), ())
    text = Moved(before, after, 4).describe()
    assert text == (
        f"candle 7: on its candles it proposed {before.describe()}; with every price doubled "
        f"and the times 4 weeks later it proposed {after.describe()} (prices halved back)"
    )


def test_the_quiet_candles_asked_are_spread_evenly_from_the_first() -> None:
    ten = list(range(10))
    assert _spread(ten, 4) == [0, 3, 6, 9]
    assert _spread(ten, 2) == [0, 9]
    assert _spread(ten, 1) == [0]
    assert _spread([5, 6, 7], 3) == [5, 6, 7] and _spread([5, 6], 3) == [5, 6]


def test_a_change_names_its_candle_counting_from_one() -> None:
    full = Decision(6, 60, (_buy("100", "98", "105"),), ())
    cut = Decision(6, 60, (), ())
    assert Change(full, cut).describe() == (
        f"candle 7: with the whole file it proposed {full.describe()}; cut at that candle it "
        f"proposed {cut.describe()}"
    )
