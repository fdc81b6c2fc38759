"""The price guard's ticks (``PriceGuard.admit_price``, the ``market`` mutation area): a tick off
the band is held and listed with the band it missed, the next tick settles it (back to the last
good price: rejected; agreeing with it: confirmed; neither: held in its place), the band's
edges count, and every item listed says which price, when, from where and why."""

from __future__ import annotations

import math

from tests.market.test_price_guard import SYM

from rampart.market.guard_settings import PriceGuardConfig
from rampart.market.price_guard import PriceGuard, Quarantined
from rampart.market.price_state import KEEP_LISTED


def _ticking(first: float = 100.0) -> tuple[PriceGuard, list[str]]:
    """A fresh guard (cold band) whose first tick counted; the symbols it told ``on_held``."""
    guard = PriceGuard(PriceGuardConfig(), "feed")
    told: list[str] = []
    guard.on_held = told.append
    assert guard.admit_price(SYM, first, 1)
    return guard, told


def test_a_disabled_guard_counts_every_tick_and_keeps_nothing() -> None:
    guard = PriceGuard(PriceGuardConfig(enabled=False), "feed")
    assert guard.admit_price(SYM, 0.0, 1) and guard.admit_price(SYM, math.nan, 2)
    assert guard.listed == [] and guard.counts == {} and guard.held_symbols() == {}


def test_the_first_tick_counts_however_small_and_a_non_positive_one_is_dropped() -> None:
    guard, told = _ticking(0.5)
    assert told == [SYM] and guard.suspect == set()
    for ts, bad in enumerate((0.0, -1.0, math.inf), start=2):
        assert not guard.admit_price(SYM, bad, ts)
    assert guard.listed == [
        Quarantined(SYM, 2, "price", 0.0, "the price is not a positive number", "dropped", "feed"),
        Quarantined(SYM, 3, "price", -1.0, "the price is not a positive number", "dropped", "feed"),
        Quarantined(
            SYM, 4, "price", math.inf, "the price is not a positive number", "dropped", "feed"
        ),
    ]
    assert not guard.admit_price(SYM, math.nan, 5)
    assert guard.listed[-1].field == "price" and math.isnan(guard.listed[-1].value)
    assert guard.counts == {"dropped": 4} and guard.held(SYM) == 0 and guard.suspect == set()


def test_a_tick_off_the_band_is_held_with_the_band_it_missed() -> None:
    guard, told = _ticking()
    state = guard._symbols[SYM]
    assert not guard.admit_price(SYM, 1000.0, 2)
    assert guard.listed == [
        Quarantined(
            SYM, 2, "price", 1000.0, "the price is 10× the last good price", "held", "feed",
            100.0 * state.low, 100.0 * state.high,
        )
    ]  # fmt: skip
    assert guard.held(SYM) == 1 and guard.held_symbols() == {SYM: 1}
    assert guard.suspect == {SYM} and told == [SYM, SYM]
    assert guard.why_held(SYM) == "no independent price here: the next candle settles it"
    assert state.ref == 100.0  # the last good price stays


def test_a_tick_going_back_rejects_the_held_one_and_counts() -> None:
    guard, told = _ticking()
    assert not guard.admit_price(SYM, 1000.0, 2)
    assert guard.admit_price(SYM, 101.0, 3)
    assert guard.listed[-1] == Quarantined(
        SYM, 3, "price", 1000.0, "the next tick went back", "rejected", "feed"
    )
    assert guard.held(SYM) == 0 and guard.suspect == set() and told == [SYM, SYM, SYM]
    assert guard._symbols[SYM].ref == 101.0
    assert guard.counts == {"held": 1, "rejected": 1}


def test_a_tick_agreeing_with_the_held_one_confirms_it_and_is_the_new_price() -> None:
    guard, _ = _ticking()
    state = guard._symbols[SYM]
    assert not guard.admit_price(SYM, 1000.0, 2)
    agreeing = 1000.0 * state.low  # the held price's band edge, far outside the last good one
    assert guard.admit_price(SYM, agreeing, 3)
    assert guard.listed[-1] == Quarantined(
        SYM, 3, "price", 1000.0, "a tick agreed with it", "confirmed", "feed"
    )
    assert guard.held(SYM) == 0 and guard.suspect == set() and state.ref == agreeing
    # The held price's band has a top edge too.
    other, _ = _ticking()
    assert not other.admit_price(SYM, 1000.0, 2)
    assert other.admit_price(SYM, 1000.0 * state.high, 3)
    assert other.listed[-1].outcome == "confirmed" and other.held(SYM) == 0


def test_a_tick_agreeing_with_neither_is_held_in_the_held_ones_place() -> None:
    guard, told = _ticking()
    assert not guard.admit_price(SYM, 1000.0, 2)
    assert not guard.admit_price(SYM, 10.0, 3)
    assert [(q.value, q.outcome) for q in guard.listed] == [(1000.0, "held"), (10.0, "held")]
    assert guard.listed[-1].reason == "the price is 0.1× the last good price"
    assert guard.held(SYM) == 1 and guard.suspect == {SYM} and len(told) == 3
    # The one held now is the later one: a tick agreeing with 1000 no longer confirms anything.
    assert not guard.admit_price(SYM, 1001.0, 4)
    assert guard.listed[-1].value == 1001.0 and guard.listed[-1].outcome == "held"
    assert guard.admit_price(SYM, 1501.5, 5)
    assert guard.listed[-1].outcome == "confirmed" and guard.listed[-1].value == 1001.0


def test_ticks_on_the_band_edges_count() -> None:
    guard, _ = _ticking()
    state = guard._symbols[SYM]
    top = 100.0 * state.high
    assert guard.admit_price(SYM, top, 2)
    bottom = top * state.low
    assert guard.admit_price(SYM, bottom, 3)
    assert guard.listed == [] and state.ref == bottom
    assert not guard.admit_price(SYM, bottom * state.low * 0.999, 4)
    assert not guard.admit_price(SYM, bottom * state.high * 1.001, 5)
    assert guard.counts == {"held": 2}


def test_past_keep_listed_prices_are_counted_only() -> None:
    guard, _ = _ticking()
    for ts in range(KEEP_LISTED + 1):
        guard.admit_price(SYM, 0.0, ts)
    assert len(guard.listed) == KEEP_LISTED and guard.counts == {"dropped": KEEP_LISTED + 1}
