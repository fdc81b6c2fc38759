"""Freqtrade's stoploss and time-based, fee-aware minimal_roi as one bracket
(rampart.agents.roi.RoiStop): the rung a trade has reached, the price that makes its ROI after
both fees (Freqtrade's profit ratio), the stop, and refusals in one sentence."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.agents.roi import RoiStop
from rampart.domain.errors import ConfigError

D = Decimal
SAMPLE = RoiStop(minimal_roi={"60": 0.01, "30": 0.02, "0": 0.04}, stoploss=-0.10)


@pytest.mark.parametrize(
    ("minutes", "roi"),
    [(0, "0.04"), (29, "0.04"), (30, "0.02"), (59, "0.02"), (60, "0.01"), (9999, "0.01")],
)
def test_the_rung_is_the_last_one_the_trade_has_reached(minutes: int, roi: str) -> None:
    assert SAMPLE.roi_at(minutes) == D(roi)


def test_the_target_makes_the_roi_after_both_fees_as_freqtrade_counts_profit() -> None:
    entry = D(100)
    for minutes in (0, 30, 60):
        target = SAMPLE.target(entry, minutes)
        # Freqtrade's profit ratio: what the exit brings in after its fee over what the entry
        # cost with its fee, less one.
        ratio = target * (1 - SAMPLE.fee) / (entry * (1 + SAMPLE.fee)) - 1
        assert abs(ratio - SAMPLE.roi_at(minutes)) < D("1e-20")
    assert SAMPLE.target(entry) > entry * D("1.04")  # the fees come on top of the 4 %
    zero = RoiStop(minimal_roi={"0": 0.0}, stoploss=-0.1, fee=D(0))
    assert zero.target(entry) == entry


def test_the_stop_and_the_exit_due_at_a_close() -> None:
    assert SAMPLE.bracket(D(100)) == (D("90.0"), SAMPLE.target(D(100)))
    opened, minute = 0, 60_000
    at_2pct = SAMPLE.target(D(100), 30)
    assert not SAMPLE.exit_due(D(100), opened, 29 * minute, at_2pct)  # 4 % asked still
    assert SAMPLE.exit_due(D(100), opened, 30 * minute, at_2pct)
    assert not SAMPLE.exit_due(D(100), opened, 30 * minute, at_2pct - D("0.01"))


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"minimal_roi": {"30": 0.01}, "stoploss": -0.1}, "needs a rung at minute 0"),
        ({"minimal_roi": {"x": 0.01}, "stoploss": -0.1}, "maps minutes to a profit ratio"),
        ({"minimal_roi": {"0": 0.01}, "stoploss": 0.1}, "stoploss is a negative ratio"),
        ({"minimal_roi": {"0": 0.01}, "stoploss": -0.1, "fee": D(1)}, "The fee is a ratio"),
    ],
)
def test_a_table_it_cannot_use_is_refused_in_a_sentence(kwargs: dict, said: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as refused:
        RoiStop(**kwargs)
    assert said in refused.value.message
