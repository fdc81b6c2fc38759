"""Trend following: an EMA fast/slow cross with an ATR bracket."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from rampart.agents.base import (
    AgentView,
    RuleAgent,
    check_decimal,
    check_float,
    check_int,
    num_text,
)
from rampart.agents.indicators import ATR, EMA, settles_after
from rampart.agents.space import SIZE, ParamSpace, between
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.intents import Intent

_MAX_RR = Decimal(20)
_DEAD_BAND = 1e-9


class TrendAgent(RuleAgent):
    """Buys when the fast EMA crosses above the slow one; closes when it crosses back below."""

    name = "trend"
    description = (
        "Buys when EMA(12) crosses above EMA(26) and sells on the cross back; "
        "stop ATR(14)×2, target 2R."
    )
    plot = ("_fast", "_slow")  # both EMAs over the price (the replay's chart, the panel's)

    def __init__(
        self,
        *,
        fast: Annotated[int, between(2, 50)] = 12,
        slow: Annotated[int, between(3, 200, log=True, above="fast")] = 26,
        atr_period: Annotated[int, between(2, 50)] = 14,
        atr_k: Annotated[float, between(0.5, 5.0, step=0.1)] = 2.0,
        target_rr: Annotated[Decimal | float | str, between(1.0, 5.0, step=0.1)] = Decimal("2.0"),
        size_hint: Annotated[Decimal | float | str, SIZE] = Decimal(1),
    ) -> None:
        super().__init__(size_hint)
        self.fast_period = check_int(self.name, "fast", fast, 1)
        self.slow_period = check_int(self.name, "slow", slow, 2)
        if self.fast_period >= self.slow_period:
            raise ConfigError(
                f"Parameter 'fast' of agent 'trend' must be shorter than 'slow' ({slow}), "
                f"not {fast}."
            )
        self.atr_period = check_int(self.name, "atr_period", atr_period, 1)
        self.atr_k = check_float(self.name, "atr_k", atr_k, 0.0, 100.0)
        self.target_rr = check_decimal(self.name, "target_rr", target_rr, Decimal(0), _MAX_RR)
        # Until both EMAs and the ATR have forgotten their seeds (a bar more, so the first
        # cross compares two settled values): earlier, a cross is where the seed put it.
        self.warmup = max(
            settles_after(self.slow_period) + 1, settles_after(self.atr_period, wilder=True)
        )
        self._fast = EMA(self.fast_period)
        self._slow = EMA(self.slow_period)
        self._atr = ATR(self.atr_period)
        self._side = 0
        self._crossed_up = False
        self._crossed_down = False

    space = ParamSpace.of(__init__)
    """Each parameter as the signature above states it, once (name, range, default)."""

    def _advance(self, candle: Candle) -> None:
        close = candle.close
        fast = self._fast.update(close)
        slow = self._slow.update(close)
        self._atr.update(candle.high, candle.low, close)
        if fast is None or slow is None:
            return
        diff = fast - slow
        # On flat stretches both EMAs converge on the price and their difference is rounding
        # noise that flips sign; a cross must clear a dead band far below any real tick.
        band = _DEAD_BAND * abs(slow)
        side = 1 if diff > band else -1 if diff < -band else 0
        self._crossed_up = side == 1 and self._side == -1
        self._crossed_down = side == -1 and self._side == 1
        if side:
            self._side = side

    def _quiet(self, candle: Candle) -> bool:
        # No cross (or an indicator still warming): _decide returns [] below, for any view.
        return not (self._crossed_up or self._crossed_down) or self._atr.value is None

    def _decide(self, view: AgentView) -> list[Intent]:
        fast = self._fast.value
        slow = self._slow.value
        atr = self._atr.value
        if fast is None or slow is None or atr is None:
            return []
        if not (self._crossed_up or self._crossed_down):
            return []  # most bars: no cross, nothing below can propose anything
        # A sharp cross (the EMAs a quarter ATR apart on the crossing bar) is full confidence.
        strength = 0.5 + 0.5 * min(1.0, abs(fast - slow) / (0.25 * atr)) if atr > 0 else 0.5
        holding = self.holding(view)
        if self._crossed_up and not holding:
            reason = (
                f"EMA({self.fast_period}) {num_text(fast)} crossed above "
                f"EMA({self.slow_period}) {num_text(slow)}"
            )
            return self.open_long(view, atr, self.atr_k, self.target_rr, strength, reason)
        if self._crossed_down and holding:
            reason = (
                f"EMA({self.fast_period}) {num_text(fast)} crossed below "
                f"EMA({self.slow_period}) {num_text(slow)}"
            )
            return self.close_long(view, strength, reason)
        return []
