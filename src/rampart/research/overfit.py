"""How likely the best setting of a search is luck: PBO and the deflated Sharpe ratio.

**Probability of backtest overfitting** (Bailey, Borwein, López de Prado and Zhu, "The
Probability of Backtest Overfitting", 2015), by combinatorially symmetric cross-validation:
the per-period returns of every trial (columns) over the searched span (rows) are cut into
``S`` equal blocks of consecutive periods; for each way of choosing half of the blocks as
"in-sample" and the rest as "out-of-sample", the trial with the best in-sample Sharpe is
ranked among all trials out-of-sample, its relative rank ``w`` in (0, 1) gives the logit
``ln(w / (1 - w))``, and PBO is the share of splits whose logit is at most 0 — where the
in-sample winner did no better than the median trial on the data it did not see. Ties share
their mean rank.

**Deflated Sharpe ratio** (Bailey and López de Prado, "The Deflated Sharpe Ratio", 2014): the
probability that the chosen setting's true Sharpe is above what the best of ``N`` trials
would show by luck alone,

    SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))
    DSR = Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2))

with ``V`` the variance of the trials' Sharpe ratios, ``g`` Euler-Mascheroni's constant, ``T``
the number of returns and the Sharpe ratios per period (not annualised). Near 1: the result
survives the number of tries; near 0: it is what that many tries give by chance.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

EULER_GAMMA = 0.5772156649015329
MAX_BLOCKS = 16
"""C(16, 8) = 12,870 splits: the paper's choice; fewer when the span is short."""
MIN_ROWS_PER_BLOCK = 4


@dataclass(frozen=True, slots=True)
class Pbo:
    value: float
    """The share of splits whose in-sample winner ranked at or below the median out-of-sample."""
    logits: tuple[float, ...]
    blocks: int
    trials: int

    @property
    def splits(self) -> int:
        return len(self.logits)


def _blocks_for(rows: int) -> int:
    blocks = min(MAX_BLOCKS, rows // MIN_ROWS_PER_BLOCK)
    return blocks - blocks % 2


def pbo(returns: npt.ArrayLike) -> Pbo | None:
    """PBO of a ``periods × trials`` matrix of returns; None with fewer than two trials or too
    few periods for four blocks."""
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError("PBO takes a periods × trials matrix")
    rows, trials = matrix.shape
    blocks = _blocks_for(rows)
    if trials < 2 or blocks < 4:
        return None
    size = rows // blocks
    cut = matrix[rows - size * blocks :].reshape(blocks, size, trials)
    sums = cut.sum(axis=1)  # blocks × trials
    squares = (cut * cut).sum(axis=1)
    chosen = np.array(list(itertools.combinations(range(blocks), blocks // 2)))
    combos = np.zeros((len(chosen), blocks))
    combos[np.arange(len(chosen))[:, None], chosen] = 1.0
    half = size * (blocks // 2)

    def sharpe(mask: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        total = mask @ sums
        mean = total / half
        var = (mask @ squares - total * mean) / (half - 1)
        std = np.sqrt(np.clip(var, 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(std > 1e-15, mean / std, 0.0)
        return np.asarray(ratio, dtype=np.float64)

    inside = sharpe(combos)
    outside = sharpe(1.0 - combos)
    best = np.argmax(inside, axis=1)
    picked = outside[np.arange(len(combos)), best][:, None]
    below = (outside < picked).sum(axis=1)
    equal = (outside == picked).sum(axis=1)
    rank = below + (equal + 1) / 2.0
    w = rank / (trials + 1)
    logits = np.log(w / (1.0 - w))
    return Pbo(
        value=float((logits <= 0).mean()),
        logits=tuple(float(x) for x in logits),
        blocks=blocks,
        trials=trials,
    )


def pooled(results: Sequence[Pbo | None]) -> float | None:
    """PBO over the splits of several searches (the folds), each split counted once."""
    logits = [x for r in results if r is not None for x in r.logits]
    if not logits:
        return None
    return sum(1 for x in logits if x <= 0) / len(logits)


def sharpe_per_period(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    spread = statistics.stdev(returns)
    if not spread > 0:
        return None
    return statistics.fmean(returns) / spread


def expected_max_sharpe(trial_sharpes: Sequence[float], trials: int) -> float:
    """SR0: the best Sharpe (per period) ``trials`` tries with these Sharpes' spread would show
    by luck."""
    if trials < 2 or len(trial_sharpes) < 2:
        return 0.0
    spread = math.sqrt(statistics.variance(trial_sharpes))
    z = NormalDist()
    return spread * (
        (1 - EULER_GAMMA) * z.inv_cdf(1 - 1 / trials)
        + EULER_GAMMA * z.inv_cdf(1 - 1 / (trials * math.e))
    )


def deflated_sharpe(
    returns: Sequence[float], trial_sharpes: Sequence[float], trials: int
) -> float | None:
    """DSR of the chosen setting's per-period ``returns`` after ``trials`` tries whose Sharpe
    ratios (per period) were ``trial_sharpes``; None when its Sharpe does not exist."""
    sr = sharpe_per_period(returns)
    if sr is None:
        return None
    n = len(returns)
    mean = statistics.fmean(returns)
    m2 = statistics.fmean([(r - mean) ** 2 for r in returns])
    if not m2 > 0:
        return None
    skew = statistics.fmean([(r - mean) ** 3 for r in returns]) / m2**1.5
    kurt = statistics.fmean([(r - mean) ** 4 for r in returns]) / m2**2
    spread = 1 - skew * sr + (kurt - 1) / 4 * sr * sr
    if not spread > 0:
        return None
    sr0 = expected_max_sharpe(trial_sharpes, trials)
    return NormalDist().cdf((sr - sr0) * math.sqrt(n - 1) / math.sqrt(spread))
