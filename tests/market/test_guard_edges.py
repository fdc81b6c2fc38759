"""The price guard's edges (the ``market`` mutation area): a live candle's freshness to the
millisecond, the timeframe's grid, the move band's edges for one candle and across a gap (and
its cap after a tick long before any candle), the item a held candle lists, and the robust band
measured from a symbol's moves."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from tests.market.test_price_guard import MIN, SYM, bar, warmed

from rampart.domain.candles import Candle
from rampart.market.guard_settings import GuardBands, PriceGuardConfig
from rampart.market.price_guard import PriceGuard
from rampart.market.price_state import SymbolPrices, impossible, measure

NOW = 1_000 * MIN
"""A live clock's now; the candles below close at or around it."""


def _fresh() -> PriceGuard:
    return PriceGuard(PriceGuardConfig(), "live")


def _closing_at(close_ts: int, timeframe_ms: int = MIN) -> Candle:
    return Candle(SYM, close_ts - timeframe_ms, 100.0, 100.1, 99.9, 100.0, 5.0, timeframe_ms)


@pytest.mark.parametrize(
    ("close_ts", "counts", "reason"),
    [
        (NOW + 5_000, True, ""),  # at the tolerance of 5 s: counts
        (NOW + 5_000 + MIN, False, "it closes in the future (still forming)"),
        (NOW - 86_400_000, True, ""),  # exactly max_age ago: counts
        (NOW - 86_400_000 - MIN, False, "it is stale (closed too long ago)"),
    ],
)
def test_a_live_candle_is_fresh_to_its_edges(close_ts: int, counts: bool, reason: str) -> None:
    # 5 s past a minute's grid: the candles are on a 5-second grid to hit the edges exactly.
    candle = _closing_at(close_ts, 5_000) if close_ts % MIN else _closing_at(close_ts)
    guard = _fresh()
    admitted = guard.admit(candle, now_ms=NOW)
    assert (admitted == (candle,)) is counts
    if not counts:
        [item] = guard.listed
        assert (item.field, item.value, item.reason) == ("ts", float(candle.ts), reason)
        assert (item.outcome, item.source, item.symbol) == ("dropped", "live", SYM)


def test_a_candle_one_millisecond_past_either_edge_is_dropped() -> None:
    tick = 1  # a 1 ms timeframe: every millisecond is on the grid
    late = _closing_at(NOW + 5_001, tick)
    old = _closing_at(NOW - 86_400_001, tick)
    for candle in (late, old):
        guard = _fresh()
        assert guard.admit(candle, now_ms=NOW) == () and len(guard.listed) == 1
    assert _fresh().admit(_closing_at(NOW + 5_000, tick), now_ms=NOW) != ()


def test_a_timeframe_of_zero_is_off_every_grid() -> None:
    guard = _fresh()
    zero = Candle(SYM, MIN, 100.0, 100.1, 99.9, 100.0, 5.0, 0)
    assert guard.admit(zero) == ()
    [item] = guard.listed
    assert (item.field, item.value) == ("ts", float(MIN))
    assert item.reason == "its open time is off the timeframe's grid"


def test_a_one_candle_move_on_the_band_edge_counts_and_the_item_names_the_band() -> None:
    for side in ("high", "low"):
        guard, close = warmed()
        state = guard._symbols[SYM]
        edge = close * getattr(state, side)
        # A long way (a wick too long to take the fast path), so _outside judges it.
        candle = Candle(SYM, 60 * MIN, edge, edge * 1.5, edge * 0.999, edge, 5.0)
        assert len(guard.admit(candle)) == 1, side
    guard, close = warmed()
    state = guard._symbols[SYM]
    past = close * state.high * 1.0001
    assert guard.admit(bar(60, past)) == ()
    [item] = guard.listed
    assert (item.field, item.value, item.outcome) == ("close", past, "held")
    assert item.reason == f"the close is {past / close:.4g}× the last good price"
    assert (item.low, item.high) == (close * state.low, close * state.high)


def test_the_open_is_judged_after_the_close() -> None:
    guard, close = warmed()
    both = Candle(SYM, 60 * MIN, close * 3, close * 3.01, close * 2.5, close * 2.5, 5.0)
    assert guard.admit(both) == () and guard.listed[0].field == "close"
    guard, close = warmed()
    opened = Candle(SYM, 60 * MIN, close * 0.4, close * 1.01, close * 0.399, close, 5.0)
    assert guard.admit(opened) == ()
    [item] = guard.listed
    assert (item.field, item.value) == ("open", close * 0.4)
    assert item.reason == "the open is 0.4× the last good price"


def test_a_gap_of_two_candles_widens_the_band_already() -> None:
    guard, close = warmed()
    state = guard._symbols[SYM]
    moved = close * math.exp(state.width * 1.3)  # past one candle's band, inside two's (√2)
    assert guard.admit(bar(61, moved)) != ()


def test_a_trimmed_low_is_listed_with_its_band() -> None:
    guard, close = warmed()
    state = guard._symbols[SYM]
    top = close * 1.001 * state.reach  # the high exactly at its band: kept, not listed
    dipped = Candle(SYM, 60 * MIN, close, top, close * 0.5, close * 1.001, 5.0)
    [counted] = guard.admit(dipped)
    bottom = close / state.reach
    assert (counted.low, counted.high) == (bottom, top)
    [item] = guard.listed
    assert (item.field, item.value, item.outcome) == ("low", close * 0.5, "trimmed")
    assert item.reason == "the low reaches far beyond the body"
    assert (item.low, item.high) == (bottom, top)


def test_a_low_exactly_at_its_band_is_not_listed() -> None:
    guard, close = warmed()
    state = guard._symbols[SYM]
    bottom = close / state.reach
    spiked = Candle(SYM, 60 * MIN, close, close * 3, bottom, close * 1.001, 5.0)
    [counted] = guard.admit(spiked)
    assert counted.low == bottom and [q.field for q in guard.listed] == ["high"]


@pytest.mark.parametrize("factor", [0.999, 1.001])
def test_a_gap_of_four_candles_doubles_the_band(factor: float) -> None:
    guard, close = warmed()
    state = guard._symbols[SYM]
    reach = math.exp(state.width * 2)  # the root of four
    up, down = bar(63, close * reach * factor), bar(63, close / reach / factor)
    other, _ = warmed()
    inside = factor < 1
    assert (guard.admit(up) != ()) is inside and (other.admit(down) != ()) is inside
    if not inside:
        assert (guard.listed[0].low, guard.listed[0].high) == (close / reach, close * reach)


def test_a_gap_from_a_tick_long_before_is_capped() -> None:
    """A tick's price has no candle time: the band to the first candle is capped at e^20."""
    for power, counts in ((19.5, True), (20.5, False)):
        guard = _fresh()
        assert guard.admit_price(SYM, 1.0, 1)
        price = math.exp(power)
        assert (guard.admit(bar(1_000, price)) != ()) is counts


def test_the_band_is_first_measured_after_min_history_moves() -> None:
    guard = _fresh()
    close = 100.0
    for i in range(31):
        close *= 1.001 if i % 2 else 0.9992
        assert guard.admit(bar(i, close)) != ()
        state = guard._symbols[SYM]
        # 31 candles make 30 moves, the default min_history: measured at the 30th.
        assert state.width == (0.20 if i == 30 else 0.80), i
    assert len(state.moves) == 30 and state.since_measured == 0


def _state(moves: list[float], band: float = 0.01, multiple: float = 3.0) -> SymbolPrices:
    bands = GuardBands(move_band=band, sigma_multiple=multiple, cold_band=0.5)
    return SymbolPrices(bands, moves=deque(moves), since_measured=7)


def test_the_robust_band_is_sigma_multiple_mads_of_the_log_moves() -> None:
    # Skewed (their median far from 0), so deviations from it differ from the moves' own.
    moves = [1.05, 1.01, 1.02, 1.03, 1.0, 1.045, 1.08]
    state = _state(moves)
    measure(state, 7)
    logs = np.log(np.array(moves))
    sigma = 1.4826 * float(np.median(np.abs(logs - np.median(logs))))
    assert state.width == 3.0 * sigma and state.width > 0.01
    assert state.high == math.exp(state.width) and state.low == 1 / state.high
    assert state.since_measured == 0


def test_calm_moves_keep_the_least_band_and_few_moves_the_cold_one() -> None:
    calm = _state([1.0001, 0.9999, 1.0002, 0.9998, 1.0001])
    measure(calm, 5)
    assert calm.width == 0.01 and calm.since_measured == 0
    few = _state([1.01, 0.98, 1.03, 0.995])
    measure(few, 5)
    assert few.width == 0.5 and few.high == math.exp(0.5) and few.since_measured == 0


def test_the_long_way_records_each_move_as_the_fast_path_does() -> None:
    """A live candle (``now_ms``) always takes the long way; its moves and its measuring must be
    the fast path's, and a move across a gap is kept as one candle's share of it."""
    fast, slow = _fresh(), _fresh()
    close = 0.5  # below 1: a cheap symbol's moves count as well
    for i in range(31):
        close *= 1.001 if i % 2 else 0.9992
        assert fast.admit(bar(i, close)) != ()
        assert slow.admit(bar(i, close), now_ms=(i + 1) * MIN) != ()
    quick, long_way = fast._symbols[SYM], slow._symbols[SYM]
    assert list(long_way.moves) == list(quick.moves) and len(quick.moves) == 30
    assert long_way.since_measured == quick.since_measured == 0
    assert long_way.width == quick.width == 0.20  # measured at the 30th move, both ways
    for gap, moved in ((2, 1.01), (4, 0.98)):
        at = long_way.ref_ts // MIN + gap
        assert slow.admit(bar(at, long_way.ref * moved), now_ms=(at + 1) * MIN) != ()
        assert long_way.moves[-1] == moved ** (1 / math.sqrt(gap))
    assert long_way.since_measured == 2


@pytest.mark.parametrize(
    ("prices", "volume", "said"),
    [
        ((1.0, 1.1, 0.9, 1.0), -1.0, ("volume", -1.0, "the volume is negative or missing")),
        ((1.0, 1.1, 0.9, 1.05), 0.0, ("volume", 0.0, "it has no volume, yet its prices moved")),
        ((1.0, 0.95, 0.9, 1.0), 1.0, ("high", 0.95, "the high is below the open or the close")),
        ((1.0, 1.1, 1.01, 1.05), 1.0, ("low", 1.01, "the low is above the open or the close")),
    ],
)
def test_an_impossible_candle_is_named_in_words(
    prices: tuple[float, float, float, float], volume: float, said: tuple[str, float, str]
) -> None:
    candle = Candle(SYM, 0, *prices, volume)
    assert impossible(candle) == said  # a source reports volume unless told otherwise


def test_a_duplicate_names_its_time() -> None:
    guard, close = warmed()
    assert guard.admit(bar(59, close)) == ()
    [item] = guard.listed
    assert (item.field, item.value) == ("ts", float(59 * MIN))


def test_the_band_is_measured_over_the_last_window_moves() -> None:
    guard = _fresh()
    close = 100.0
    for i in range(260):
        close *= 1.001 if i % 2 else 0.9992
        assert guard.admit(bar(i, close)) != ()
    assert len(guard._symbols[SYM].moves) == 240  # the default window
