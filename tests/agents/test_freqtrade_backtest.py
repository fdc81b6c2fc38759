"""The reference backtest of test_freqtrade_trades.py keeps Freqtrade's documented rules, and each
of Rampart's rules changes what the guide says it changes (on candles made for each rule)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rampart.agents.roi import RoiStop
from rampart.domain.instruments import Instrument
from rampart.domain.money import ceil_to_step
from tests.agents.freqtrade_backtest import Rules, Trade, backtest

pd = pytest.importorskip("pandas")

D = Decimal
FLAT = (100.0, 101.0, 99.0, 100.0)
EXITS = RoiStop(minimal_roi={"0": 0.04, "30": 0.02}, stoploss=-0.10)
INSTRUMENT = Instrument.for_price("X/USDT", 100.0)
RUNG_30 = D(100) * D("1.001") * D("1.02") / D("0.999")  # 2 % net of a 0.1 % fee each way


def _trades(
    candles: list[tuple[float, float, float, float]],
    enter: set[int],
    leave: set[int] = frozenset(),  # type: ignore[assignment]
    rules: Rules = Rules(),
) -> list[Trade]:
    df: Any = pd.DataFrame(candles, columns=["open", "high", "low", "close"])
    df["volume"] = 1_000.0
    n = len(candles)
    return backtest(
        df,
        [i in enter for i in range(n)],
        [i in leave for i in range(n)],
        EXITS,
        0,
        INSTRUMENT,
        rules,
    )


def test_signals_trade_at_the_next_open_and_a_collision_trades_nothing() -> None:
    candles = [FLAT] * 3 + [(100.5, 101.0, 99.0, 100.0), (100.2, 101.0, 99.0, 100.0), FLAT]
    [trade] = _trades(candles, enter={2}, leave={3})
    assert trade == Trade(3, 4, "signal", D("100.5"), D("100.2"))
    assert _trades(candles, enter={2}, leave={2}) == []  # entry and exit on one candle: neither


def test_a_stop_fills_at_its_price_in_freqtrade_and_at_a_gapped_open_in_rampart() -> None:
    gapped = (85.0, 95.0, 84.0, 90.0)  # opens below the 90 stop of an entry at 100
    candles = [FLAT, FLAT, gapped, FLAT]
    [freqtrade] = _trades(candles, enter={0})
    assert (freqtrade.exit, freqtrade.kind, freqtrade.exit_price) == (2, "stop", D(90))
    [rampart] = _trades(candles, enter={0}, rules=Rules(gap_at_open=True))
    assert (rampart.exit, rampart.kind, rampart.exit_price) == (2, "stop", D(85))


def test_an_exit_signal_sells_at_the_open_before_the_candle_reaches_the_stop() -> None:
    candles = [FLAT, FLAT, FLAT, (99.0, 99.5, 85.0, 86.0), FLAT]
    [trade] = _trades(candles, enter={0}, leave={2})
    assert (trade.exit, trade.kind, trade.exit_price) == (3, "signal", D(99))


def test_a_candle_reaching_the_stop_and_the_target_is_a_stop() -> None:
    [trade] = _trades([FLAT, FLAT, (100.0, 105.0, 89.0, 100.0), FLAT], enter={0})
    assert (trade.kind, trade.exit_price) == ("stop", D(90))


def test_roi_is_net_of_fees_and_its_rungs_come_over_time() -> None:
    reach = (101.0, 102.5, 100.5, 102.3)  # minute 30: high past the 2 % rung, 4 % not
    candles = [FLAT] * 7 + [reach, (102.4, 103.0, 102.0, 102.5), FLAT]
    [freqtrade] = _trades(candles, enter={0})
    assert freqtrade == Trade(1, 7, "roi", D(100), RUNG_30)  # within the candle at its price
    early = [FLAT] * 6 + [reach, FLAT, FLAT]  # at minute 25 the rung is still 4 %
    assert _trades(early, enter={0})[0].kind == "end"
    # Rampart: the close reached the rung, sold at the next open.
    [rampart] = _trades(candles, enter={0}, rules=Rules(roi_at_close=True))
    assert rampart == Trade(1, 8, "roi_close", D(100), D("102.4"))
    # A rung that comes into effect on a candle opening past its price: sold at that open.
    opened_past = [FLAT] * 7 + [(103.0, 103.5, 102.8, 103.0), FLAT]
    assert _trades(opened_past, enter={0})[0] == Trade(1, 7, "roi", D(100), D(103))


def test_a_target_reached_at_the_open_fills_at_the_low_in_freqtrade_at_its_price_in_rampart() -> (
    None
):
    candles = [FLAT, FLAT, (105.0, 106.0, 104.5, 105.0), FLAT]
    assert _trades(candles, enter={0})[0].exit_price == D("104.5")  # never below the candle
    [rampart] = _trades(candles, enter={0}, rules=Rules(target_at_its_price=True))
    assert rampart.exit_price == EXITS.target(D(100))


def test_the_bracket_is_priced_from_the_close_the_entry_was_decided_on() -> None:
    # Decided at a close of 95, bought at an open of 100: Rampart's stop is 85.5, not 90, and
    # its target 4 % over 95 (net of fees, rounded up to the tick) is reached at once.
    candles = [(95.0, 96.0, 94.0, 95.0), (100.0, 100.0, 88.0, 89.0), FLAT]
    assert _trades(candles, enter={0})[0] == Trade(1, 1, "stop", D(100), D(90))
    [rampart] = _trades(candles, enter={0}, rules=Rules(bracket_from_close=True))
    target = ceil_to_step(EXITS.target(D(95)), INSTRUMENT.tick_size)
    assert rampart == Trade(1, 1, "roi", D(100), target)


def test_a_trade_open_at_the_end_leaves_at_the_last_close() -> None:
    assert _trades([FLAT, FLAT, (100.0, 101.0, 99.0, 100.7)], enter={0}) == [
        Trade(1, 2, "end", D(100), D("100.7"))
    ]
