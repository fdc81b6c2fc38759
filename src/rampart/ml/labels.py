"""Labels from the bracket itself: does the take-profit come before the stop-loss, after fees?

A row at candle t enters at t's close with a stop ``atr_stop``·ATR below and a target
``atr_target``·ATR above, and watches candles t+1 … t+horizon. The first candle touching the
target wins, the first touching the stop loses; a candle touching both counts as a loss (within
one bar the order is unknown, and assuming the worst keeps the model honest). A trade still
open after ``horizon`` candles exits at that close. The label is 1 only for a win whose
return still beats the round-trip fees; ``returns`` holds every row's net outcome, so expected
value per trade is a mean over the rows a model chose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LabelSpec:
    horizon: int = 24
    atr_stop: float = 1.0
    atr_target: float = 2.0
    fee: float = 0.001
    """Taker fee per side, as a fraction; a round trip pays it twice."""

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"the label horizon must be at least one candle, not {self.horizon}")
        if not (self.atr_stop > 0 and self.atr_target > 0):
            raise ValueError("the ATR multiples of stop and target must be positive")
        if not 0 <= self.fee < 0.1:
            raise ValueError(f"the fee must be a fraction in [0, 0.1), not {self.fee}")


def bracket_labels(
    high: Array, low: Array, close: Array, atr: Array, spec: LabelSpec
) -> tuple[Array, Array]:
    """(label 1.0/0.0, net return) per candle; NaN where the outcome is not known.

    NaN rows: the last ``horizon`` candles (their future is not in the data yet) and candles
    with no usable ATR (a flat market leaves no room for a bracket).
    """
    high, low, close, atr = (np.asarray(a, dtype=np.float64) for a in (high, low, close, atr))
    n = len(close)
    labels = np.full(n, np.nan)
    returns = np.full(n, np.nan)
    cost = 2.0 * spec.fee
    for t in range(n - spec.horizon):
        a = atr[t]
        entry = close[t]
        if not (np.isfinite(a) and a > 0):
            continue
        stop = entry - spec.atr_stop * a
        target = entry + spec.atr_target * a
        end = t + 1 + spec.horizon
        hit_stop = np.flatnonzero(low[t + 1 : end] <= stop)
        hit_target = np.flatnonzero(high[t + 1 : end] >= target)
        first_stop = hit_stop[0] if len(hit_stop) else spec.horizon
        first_target = hit_target[0] if len(hit_target) else spec.horizon
        if first_stop <= first_target and len(hit_stop):
            ret = stop / entry - 1.0 - cost
        elif len(hit_target):
            ret = target / entry - 1.0 - cost
        else:
            ret = close[end - 1] / entry - 1.0 - cost
        won = len(hit_target) > 0 and first_target < first_stop
        returns[t] = ret
        labels[t] = 1.0 if won and ret > 0 else 0.0
    return labels, returns
