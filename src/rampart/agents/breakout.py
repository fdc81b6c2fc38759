"""Breakout: buy a close above the previous bars' Donchian channel, exit when it breaks down."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from rampart.agents.base import (
    AgentView,
    RuleAgent,
    check_decimal,
    check_float,
    check_int,
    close_text,
    num_text,
)
from rampart.agents.indicators import ATR, Donchian, settles_after
from rampart.agents.space import SIZE, ParamSpace, between
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent

_MAX_RR = Decimal(20)


class BreakoutAgent(RuleAgent):
    """Buys a close above the highest high of the previous ``period`` bars.

    Like the Turtle rules, the long is closed when the close falls below the lowest low of
    the previous ``exit_period`` bars (0 turns that off and leaves the exit to the bracket).
    """

    name = "breakout"
    description = (
        "Buys a close above the previous 20 bars' high, sells below the previous 10 "
        "bars' low; stop ATR(14)×1.5, target 2R."
    )

    def __init__(
        self,
        *,
        period: Annotated[int, between(5, 200, log=True)] = 20,
        exit_period: Annotated[int, between(0, 100)] = 10,
        atr_period: Annotated[int, between(2, 50)] = 14,
        atr_k: Annotated[float, between(0.5, 5.0, step=0.1)] = 1.5,
        target_rr: Annotated[Decimal | float | str, between(1.0, 5.0, step=0.1)] = Decimal("2.0"),
        size_hint: Annotated[Decimal | float | str, SIZE] = Decimal(1),
    ) -> None:
        super().__init__(size_hint)
        self.period = check_int(self.name, "period", period, 2)
        self.exit_period = check_int(self.name, "exit_period", exit_period, 0)
        self.atr_period = check_int(self.name, "atr_period", atr_period, 1)
        self.atr_k = check_float(self.name, "atr_k", atr_k, 0.0, 100.0)
        self.target_rr = check_decimal(self.name, "target_rr", target_rr, Decimal(0), _MAX_RR)
        # The channel describes the bars before the current one, hence the extra bar.
        # The ATR is a Wilder average: wait until it has forgotten its seed.
        self.warmup = max(self.period + 1, settles_after(self.atr_period, wilder=True))
        self._entry = Donchian(self.period)
        self._exit = Donchian(self.exit_period) if self.exit_period else None
        self._atr = ATR(self.atr_period)

    space = ParamSpace.of(__init__)
    """Each parameter as the signature above states it, once (name, range, default)."""

    def _advance(self, candle: Candle) -> None:
        self._entry.update(candle.high, candle.low)
        if self._exit is not None:
            self._exit.update(candle.high, candle.low)
        self._atr.update(candle.high, candle.low, candle.close)

    def _quiet(self, candle: Candle) -> bool:
        # The tests of _decide below on this bar's close: neither an exit nor a break.
        upper, atr = self._entry.upper, self._atr.value
        if upper is None or atr is None:
            return True
        floor = self._exit.lower if self._exit is not None else None
        close = candle.close
        return not close > upper and not (floor is not None and close < floor)

    def _decide(self, view: AgentView) -> list[Intent]:
        upper = self._entry.upper
        atr = self._atr.value
        if upper is None or atr is None:
            return []
        close = view.candle.close
        if self.holding(view):
            floor = self._exit.lower if self._exit is not None else None
            if floor is not None and close < floor:
                reason = (
                    f"the close {close_text(view)} fell below the previous {self.exit_period} "
                    f"bars' low {num_text(floor)}"
                )
                depth = (floor - close) / atr if atr > 0 else 0.0
                return self.close_long(view, 0.5 + 0.5 * min(1.0, depth), reason)
            return []
        if close > upper:
            reason = (
                f"the close {close_text(view)} broke above the previous {self.period} bars' "
                f"high {num_text(upper)}"
            )
            strength = 0.5 + 0.5 * min(1.0, (close - upper) / atr) if atr > 0 else 0.5
            return self.open_long(view, atr, self.atr_k, self.target_rr, strength, reason)
        return []
