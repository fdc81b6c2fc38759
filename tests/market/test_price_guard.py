"""The market-data guard alone: each check names what it refused, a suspect move is
held until the next candle or a second reading confirms it or the market goes back, wicks are
trimmed, ticks are guarded the same way, and the defaults flag nothing in real or synthetic
data while a setting that would is refused when it loads."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rampart.config import load_settings
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.market.guard_settings import PriceGuardConfig
from rampart.market.loaders import load_candles
from rampart.market.price_guard import PriceGuard
from rampart.market.synthetic import SyntheticFeed

SYM = "BTC/USDT"
MIN = 60_000
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def bar(i: int, close: float, *, open_: float | None = None, wick: float = 0.001,
        volume: float = 5.0, symbol: str = SYM) -> Candle:  # fmt: skip
    o = close if open_ is None else open_
    return Candle(symbol, i * MIN, o, max(o, close) * (1 + wick), min(o, close) * (1 - wick),
                  close, volume)  # fmt: skip


def warmed(n: int = 60, config: PriceGuardConfig | None = None) -> tuple[PriceGuard, float]:
    """A guard that has measured ``n`` calm candles around 100; the last close."""
    guard = PriceGuard(config or PriceGuardConfig(), "test")
    close = 100.0
    for i in range(n):
        close *= 1.001 if i % 2 else 0.9992
        assert guard.admit(bar(i, close)) != ()
    return guard, close


@pytest.mark.parametrize(
    ("candle", "field"),
    [
        (Candle(SYM, 60 * MIN, 0.0, 0.0, 0.0, 0.0, 1.0), "open"),
        (Candle(SYM, 60 * MIN, -100.0, -99.0, -101.0, -100.0, 1.0), "open"),
        (Candle(SYM, 60 * MIN, math.nan, 101.0, 99.0, 100.0, 1.0), "open"),
        (Candle(SYM, 60 * MIN, 100.0, math.inf, 99.0, 100.0, 1.0), "high"),
        (Candle(SYM, 60 * MIN, 100.0, 99.0, 98.0, 100.0, 1.0), "high"),
        (Candle(SYM, 60 * MIN, 100.0, 101.0, 100.5, 100.0, 1.0), "low"),
        (Candle(SYM, 60 * MIN, 100.0, 101.0, 99.0, 100.0, -1.0), "volume"),
        (Candle(SYM, 60 * MIN, 100.0, 101.0, 99.0, 100.5, 0.0), "volume"),
    ],
)
def test_an_impossible_candle_is_dropped_and_named(candle: Candle, field: str) -> None:
    guard, _ = warmed()
    assert guard.admit(candle) == ()
    [item] = guard.listed
    assert (item.field, item.outcome) == (field, "dropped") and item.reason
    assert SYM not in guard.suspect  # nothing is held: the next candle counts as usual


def test_a_duplicate_an_older_and_an_off_grid_candle_are_dropped() -> None:
    guard, close = warmed()
    dup, old = bar(59, close), bar(10, close)
    off = Candle(SYM, 60 * MIN + 7, close, close, close, close, 1.0)
    assert guard.admit(dup) == () and guard.admit(old) == () and guard.admit(off) == ()
    assert [q.reason for q in guard.listed] == [
        "it is a duplicate of the last candle seen",
        "it is older than the last candle seen",
        "its open time is off the timeframe's grid",
    ]


def test_live_freshness_drops_a_candle_still_forming_and_one_too_old() -> None:
    guard, close = warmed()
    now = 61 * MIN
    assert guard.admit(bar(61, close), now_ms=now) == ()  # closes at 62 min: still forming
    assert guard.admit(bar(60, close), now_ms=now + 2 * 86_400_000) == ()
    assert guard.admit(bar(60, close), now_ms=now) != ()


@pytest.mark.parametrize("factor", [1000.0, 0.001, 2.0, 0.7])
def test_a_print_the_next_candle_contradicts_is_held_then_rejected(factor: float) -> None:
    guard, close = warmed()
    assert guard.admit(bar(60, close * factor)) == ()
    assert SYM in guard.suspect and guard.held(SYM) == 1
    nxt = bar(61, close * 1.0005)
    assert guard.admit(nxt) == (nxt,)
    assert SYM not in guard.suspect
    assert [q.outcome for q in guard.listed] == ["held", "rejected"]
    held = guard.listed[0]
    assert held.low is not None and held.high is not None
    assert held.low < close < held.high and not held.low <= close * factor <= held.high


def test_a_move_the_next_candle_agrees_with_is_confirmed_and_both_count_in_order() -> None:
    guard, close = warmed()
    crash, after = bar(60, close * 0.7, open_=close), bar(61, close * 0.69)
    assert guard.admit(crash) == ()
    assert guard.admit(after) == (crash, after)
    assert [q.outcome for q in guard.listed] == ["held", "confirmed"]
    # The crash is the new last good price: the next candle is measured from it.
    assert guard.admit(bar(62, close * 0.695)) != ()


def test_confirm_candles_waits_for_as_many_agreeing_candles() -> None:
    guard, close = warmed(config=PriceGuardConfig(confirm_candles=2))
    first, second, third = bar(60, close * 0.7), bar(61, close * 0.7), bar(62, close * 0.7)
    assert guard.admit(first) == () and guard.admit(second) == ()
    assert guard.admit(third) == (first, second, third)


def test_a_gap_widens_the_band_by_the_root_of_the_candles_it_spans() -> None:
    guard, close = warmed()
    # 25 % in one minute is outside the 0.20 band; across a 100-minute hole it is ordinary.
    assert guard.admit(bar(160, close * 1.25)) != ()
    guard2, close2 = warmed()
    assert guard2.admit(bar(60, close2 * 1.25)) == ()


def test_a_wick_far_past_the_body_is_trimmed_to_the_band() -> None:
    guard, close = warmed()
    spiked = Candle(SYM, 60 * MIN, close, close * 1000, close * 0.999, close * 1.001, 5.0)
    [counted] = guard.admit(spiked)
    assert counted.high == pytest.approx(close * 1.001 * math.exp(0.25))
    assert counted.close == spiked.close and counted.low == spiked.low
    assert [(q.field, q.outcome) for q in guard.listed] == [("high", "trimmed")]


def test_a_second_reading_confirms_or_rejects_a_held_candle_at_once() -> None:
    guard, close = warmed()
    crash = bar(60, close * 0.7)
    guard.admit(crash)
    assert guard.second_reading(SYM, close * 0.3) == ()  # agrees with neither: still held
    assert guard.second_reading(SYM, close * 0.71) == (crash,)
    assert SYM not in guard.suspect
    guard.admit(bar(61, close * 1000 * 0.7))
    assert guard.second_reading(SYM, close * 0.7) == ()  # the ticker says the print is wrong
    assert guard.held(SYM) == 0 and guard.listed[-1].outcome == "rejected"


def test_a_no_trade_candle_off_the_last_close_is_held() -> None:
    guard, close = warmed()
    frozen = Candle(SYM, 60 * MIN, close * 1.05, close * 1.05, close * 1.05, close * 1.05, 0.0)
    assert guard.admit(frozen) == ()
    quiet = Candle(SYM, 61 * MIN, close, close, close, close, 0.0)  # no trade, at the last close
    assert guard.admit(quiet) == (quiet,)


def test_ticks_are_guarded_like_candles() -> None:
    guard, close = warmed()
    assert guard.admit_price(SYM, close * 1.001, 1)
    assert not guard.admit_price(SYM, 0.0, 2)
    assert not guard.admit_price(SYM, close * 1000, 3) and SYM in guard.suspect
    assert guard.admit_price(SYM, close, 4) and SYM not in guard.suspect  # went back
    assert not guard.admit_price(SYM, close * 0.5, 5)
    assert guard.admit_price(SYM, close * 0.501, 6)  # the next tick agrees: a real move
    assert [q.outcome for q in guard.listed] == ["dropped", "held", "rejected", "held",
                                                 "confirmed"]  # fmt: skip


def test_per_symbol_bands_and_the_switch() -> None:
    config = PriceGuardConfig(symbols={"PEPE/USDT": {"move_band": 1.5}})
    guard = PriceGuard(config, "test")
    for i, close in enumerate([1.0] * 40 + [3.0]):
        admitted = guard.admit(bar(i, close, symbol="PEPE/USDT"))
    assert admitted != ()  # ×3 is inside PEPE's band of 1.5 (×4.48)
    off = PriceGuard(PriceGuardConfig(enabled=False), "test")
    zero = Candle(SYM, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert off.admit(zero) == (zero,)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-0.05, max_value=0.05), min_size=40, max_size=120),
    st.sampled_from([0.0, -1.0, 1000.0, 0.001]),
    st.integers(min_value=31, max_value=39),
)
def test_a_bad_print_in_any_calm_walk_is_never_counted(
    moves: list[float], factor: float, at: int
) -> None:
    """Moves up to 5 % a candle; one print replaced by a zero, negative, ×1000 or ×0.001."""
    guard = PriceGuard(PriceGuardConfig(), "test")
    close, counted = 100.0, []
    for i, move in enumerate(moves):
        close *= math.exp(move)
        price = close * factor if i == at else close
        candle = Candle(SYM, i * MIN, price, price, price, price, 1.0)
        counted.extend(guard.admit(candle))
    assert all(c.ts != at * MIN for c in counted)
    assert len(counted) == len(moves) - 1


def test_the_defaults_flag_nothing_in_the_synthetic_feed() -> None:
    feed = SyntheticFeed(["BTC/USDT", "ETH/USDT", "SOL/USDT", "XYZ/USDT"], seed=3)
    guard = PriceGuard(PriceGuardConfig(), "synthetic")
    for symbol in feed.symbols:
        for candle in feed.generate(symbol, 30_000).iter_candles():
            guard.admit(candle)
    assert guard.listed == []


def test_the_defaults_flag_nothing_in_the_real_candles_of_shared_data() -> None:
    files = (
        sorted(p for p in DATA.glob("*_*-*.*") if "trades" not in p.name) if DATA.is_dir() else []
    )
    if not files:
        pytest.skip(f"no real candle files in {DATA}")
    for path in files:
        guard = PriceGuard(PriceGuardConfig(), "replay")
        for candle in load_candles(path).series.iter_candles():
            guard.admit(candle)
        assert guard.listed == [], f"{path.name}: {guard.listed[:3]}"


def test_a_setting_that_would_flag_our_own_data_is_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(feed={"guard": {"move_band": 0.001, "sigma_multiple": 0.5}})
    text = caught.value.message
    assert "would quarantine" in text and "synthetic" in text and text.count(". ") == 0
    assert load_settings(feed={"guard": {"move_band": 0.3}}).feed.guard.move_band == 0.3


def test_a_candle_after_only_ticks_is_judged_without_overflow() -> None:
    """A DEX feed's ticks come before its first candle: the last good price then has no candle
    time, and the band across the 'gap' must not overflow (it did, restarting the engine)."""
    guard = PriceGuard(PriceGuardConfig(), "test", volumes=False)
    assert guard.admit_price(SYM, 100.0, 1_764_000_000_000)
    first = bar(29_400_000, 100.2, volume=0.0)
    assert guard.admit(first) == (first,)
