"""The edges of the figures research and the launch gates read: a curve's first and only
point, two returns, values below 1 (buy-and-hold's curve starts at 1 less the fee), no time,
ruin, and the words and keys the reports show."""

from __future__ import annotations

import pytest

from rampart.domain.performance import (
    HOUR_MS,
    YEAR_MS,
    Comparison,
    Performance,
    annual_return,
    buy_and_hold,
    compare_with_buy_and_hold,
    max_drawdown,
    per_period,
    performance,
    period_for,
    sharpe,
    sortino,
)


def test_periods_count_from_the_first_point_s_own_period() -> None:
    # The first point sits inside its period; a period of 1 ms is a period.
    assert per_period([(10, 100.0), (30, 200.0), (75, 300.0)], 20) == [100.0, 200.0, 200.0, 300.0]
    assert per_period([(5, 3.0)], 10) == [3.0]
    assert per_period([(10, 1.0), (15, 2.0), (25, 3.0)], 20) == [2.0, 3.0]  # two in the first
    assert per_period([(0, 1.0), (2, 2.0)], 1) == [1.0, 1.0, 2.0]
    assert per_period([], 10) == []
    for period in (0, -20):
        with pytest.raises(ValueError, match=rf"^a period must be positive, not {period} ms$"):
            per_period([(0, 1.0)], period)
    with pytest.raises(ValueError, match=r"^a curve's points must be in time order$"):
        per_period([(0, 1.0), (40, 2.0), (20, 3.0)], 20)


def test_two_returns_are_enough_for_a_sharpe_and_a_sortino() -> None:
    assert sharpe([0.01, 0.03], 100) == pytest.approx(0.02 / (0.02**0.5 / 10) * 10)
    # downside deviation: sqrt((0.01² + 0) / 2)
    assert sortino([-0.01, 0.03], 100) == pytest.approx(0.01 / (0.0001 / 2) ** 0.5 * 10)


def test_a_drawdown_below_a_value_of_one_and_from_nothing() -> None:
    assert max_drawdown([0.99, 0.495, 0.9]) == pytest.approx(0.5)
    assert max_drawdown([0.0, 0.0, -1.0]) == 0.0  # nothing to lose a fraction of
    assert max_drawdown([]) == 0.0


@pytest.mark.parametrize(
    ("values", "years", "growth"),
    [
        ([1.0, 2.0], 1.0, 1.0),
        ([1.0, 9.0], 2.0, 2.0),  # compounded: 3 × 3, not 1 + 8 / 2
        ([2.0, 1.0], 1.0, -0.5),
        ([1.0, 0.0], 1.0, -1.0),  # ruined
        ([1.0, -0.5], 1.0, -1.0),  # never worse than all of it
        ([0.5, 1.0], 0.5, 3.0),
        ([1.0], 1.0, None),
        ([1.0, 2.0], 0.0, None),
        ([1.0, 2.0], -1.0, None),
        ([0.0, 1.0], 1.0, None),
        ([-1.0, 1.0], 1.0, None),
    ],
)
def test_annual_return(values: list[float], years: float, growth: float | None) -> None:
    found = annual_return(values, years)
    assert found == (None if growth is None else pytest.approx(growth))


def test_a_half_year_curve_s_figures() -> None:
    start = 1_000 * HOUR_MS  # not at 0: the span is last minus first
    half = YEAR_MS // 2
    points = [(start, 100.0), (start + half // 2, 80.0), (start + half, 121.0)]
    perf = performance(points, half // 2)
    assert perf.profit == pytest.approx(0.21)
    assert perf.max_drawdown == pytest.approx(0.2)
    # 21 % in half a year is 1.21² - 1 = 46.41 % a year, over the 20 % fall
    assert perf.calmar == pytest.approx(0.4641 / 0.2)
    assert perf.periods == 2 and perf.period_ms == half // 2
    assert perf.sortino == pytest.approx(sortino([-0.2, 0.5125], 4))
    assert perf.as_dict() == {
        "profit": perf.profit,
        "sharpe": perf.sharpe,
        "sortino": perf.sortino,
        "calmar": perf.calmar,
        "max_drawdown": perf.max_drawdown,
        "periods": 2,
        "period_ms": half // 2,
    }


def test_a_curve_below_one_has_a_profit_and_one_from_nothing_has_none() -> None:
    assert performance([(0, 0.5), (YEAR_MS, 1.0)], YEAR_MS).profit == pytest.approx(1.0)
    assert performance([(0, 0.0), (YEAR_MS, 1.0)], YEAR_MS).profit == 0.0
    empty = performance([], HOUR_MS)
    assert (empty.profit, empty.periods, empty.calmar, empty.sharpe) == (0.0, 0, None, None)


def test_no_calmar_without_a_fall_or_without_time() -> None:
    rising = [(i * HOUR_MS, 100.0 + i) for i in range(5)]
    assert performance(rising, HOUR_MS).calmar is None
    # A drawdown measured elsewhere, but a single point: no growth to set against it.
    assert performance([(0, 100.0)], HOUR_MS, drawdown=0.2).calmar is None
    falling = [(0, 100.0), (YEAR_MS, 50.0)]
    assert performance(falling, HOUR_MS).calmar == pytest.approx(-0.5 / 0.5)
    assert performance(falling, HOUR_MS, drawdown=0.0).calmar is None


def test_buy_and_hold_without_a_fee_at_a_tiny_price_and_without_a_price() -> None:
    closes = [(0, 0.00003125), (HOUR_MS, 0.0000625)]
    assert buy_and_hold(closes, 0.0) == [(0, 1.0), (HOUR_MS, 2.0)]
    assert buy_and_hold([(0, 10.0)], 0.5) == [(0, 0.25)]  # in and out at once
    assert buy_and_hold([], 0.01) == []
    assert buy_and_hold([(0, 0.0), (HOUR_MS, 10.0)], 0.01) == []
    assert buy_and_hold([(0, 10.0), (HOUR_MS, 0.0)], 0.0) == [(0, 1.0), (HOUR_MS, 0.0)]
    for fee in (1.0, 1.5, -0.01):
        with pytest.raises(ValueError, match=rf"^a fee is a fraction below 1, not {fee}$"):
            buy_and_hold(closes, fee)


def _perf(sharpe: float | None, profit: float = 0.0) -> Performance:
    return Performance(profit, sharpe, None, None, 0.0, 10, HOUR_MS)


def test_the_comparison_s_sentence_names_what_has_no_sharpe() -> None:
    tail = "did not move enough to have one."
    for ours, theirs, missing in (
        (None, 1.0, "the strategy's curve"),
        (None, None, "the strategy's curve"),
        (1.0, None, "the market"),
    ):
        comparison = Comparison(_perf(ours), _perf(theirs), 0.3)
        assert comparison.beats is None
        assert comparison.sentence() == (
            f"No Sharpe comparison with buy-and-hold: {missing} {tail}"
        )
    worse = Comparison(_perf(1.0, 0.05), _perf(0.8, -0.125), 0.3)
    assert worse.sentence() == (
        "Sharpe 1.00 against buy-and-hold's 0.80 on the same candles (profit +5.00% against "
        "-12.50%): it does not beat holding by the 0.3 the launch asks."
    )
    assert worse.as_dict() == {
        "strategy": _perf(1.0, 0.05).as_dict(),
        "buy_and_hold": _perf(0.8, -0.125).as_dict(),
        "margin": 0.3,
        "beats": False,
    }
    assert Comparison(_perf(1.1), _perf(0.8), 0.3).as_dict()["beats"] is True


def test_the_comparison_keeps_the_strategy_s_finer_drawdown() -> None:
    hours = [(i * HOUR_MS, 100.0 + (i % 3)) for i in range(10)]
    result = compare_with_buy_and_hold(hours, hours, HOUR_MS, fee=0.0, drawdown=0.4)
    assert result.strategy.max_drawdown == 0.4
    assert result.hold.max_drawdown == pytest.approx(2 / 102)


def test_returns_are_read_hourly_or_per_candle_when_candles_are_longer() -> None:
    assert period_for(60_000) == HOUR_MS
    assert period_for(HOUR_MS) == HOUR_MS
    assert period_for(86_400_000) == 86_400_000


def test_a_short_curve_s_big_gain_has_no_calmar_rather_than_an_overflow() -> None:
    """Regression: 9 % in one hour compounded to a year (1.09 ** 8,760) overflowed a float, and
    ``performance`` raised OverflowError for the research report and the launch gate."""
    perf = performance([(0, 100.0), (HOUR_MS // 2, 95.0), (HOUR_MS, 109.0)], HOUR_MS // 2)
    assert perf.profit == pytest.approx(0.09) and perf.max_drawdown == pytest.approx(0.05)
    assert perf.calmar is None
    assert annual_return([100.0, 109.0], 1 / 8_760) is None
    assert annual_return([100.0, 101.0], 1 / 8_760) == pytest.approx(1.01**8_760 - 1)
