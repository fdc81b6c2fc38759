"""PBO by combinatorially symmetric cross-validation and the deflated Sharpe ratio, on
matrices whose answer is known: pure noise (no setting has an edge) and one real edge."""

from __future__ import annotations

import numpy as np

from rampart.research.overfit import (
    deflated_sharpe,
    expected_max_sharpe,
    pbo,
    pooled,
    sharpe_per_period,
)


def noise(trials: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.01, (256, trials))


def test_noise_is_overfit_half_the_time_and_an_edge_almost_never() -> None:
    found = pbo(noise(60))
    assert found is not None
    assert found.blocks == 16 and found.splits == 12_870
    # One matrix's splits depend on each other; over several matrices noise averages a half.
    values = [pbo(noise(40, seed)).value for seed in range(6)]  # type: ignore[union-attr]
    assert 0.35 <= sum(values) / len(values) <= 0.65
    edged = noise(60)
    edged[:, 17] += 0.004  # one setting with a real edge, seen in every block
    assert pbo(edged).value < 0.05  # type: ignore[union-attr]


def test_pbo_needs_two_trials_and_enough_periods() -> None:
    assert pbo(noise(1)) is None
    assert pbo(np.zeros((12, 10))) is None  # three rows per block is too few
    small = pbo(np.random.default_rng(1).normal(0, 1, (40, 5)))
    assert small is not None and small.blocks == 10
    assert pooled([None, small]) == small.value
    assert pooled([None]) is None


def test_deflated_sharpe_of_the_luckiest_noise_is_low_and_of_an_edge_high() -> None:
    m = noise(200)
    sharpes = [sharpe_per_period(m[:, i]) or 0.0 for i in range(200)]
    best = int(np.argmax(sharpes))
    assert deflated_sharpe(m[:, best], sharpes, 200) < 0.6  # type: ignore[operator]
    edged = m.copy()
    edged[:, best] += 0.005
    assert deflated_sharpe(edged[:, best], sharpes, 200) > 0.95  # type: ignore[operator]
    # The more trials, the higher the bar luck sets.
    assert expected_max_sharpe(sharpes, 1000) > expected_max_sharpe(sharpes, 10) > 0
    assert expected_max_sharpe(sharpes, 1) == 0.0
    assert deflated_sharpe([0.01] * 10, sharpes, 200) is None  # no variation, no Sharpe
