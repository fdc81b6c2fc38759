"""Mean reversion: buy an oversold dip below the lower Bollinger band, sell the bounce."""

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
from rampart.agents.indicators import ATR, RSI, Bollinger, settles_after
from rampart.agents.space import SIZE, ParamSpace, between
from rampart.domain.candles import Candle
from rampart.domain.errors import ConfigError
from rampart.domain.intents import Intent

_MAX_RR = Decimal(20)


class MeanReversionAgent(RuleAgent):
    """Buys when RSI is oversold and the close is below the lower band; closes when RSI recovers."""

    name = "mean_reversion"
    description = (
        "Buys RSI(14) under 30 below the lower Bollinger band(20, 2), sells at RSI "
        "over 55; stop ATR(14)×2, target 1.5R."
    )

    def __init__(
        self,
        *,
        rsi_period: Annotated[int, between(2, 50)] = 14,
        oversold: Annotated[float, between(5.0, 45.0, step=1.0)] = 30.0,
        exit_rsi: Annotated[float, between(50.0, 95.0, step=1.0)] = 55.0,
        bb_period: Annotated[int, between(5, 100)] = 20,
        bb_k: Annotated[float, between(0.5, 4.0, step=0.1)] = 2.0,
        atr_period: Annotated[int, between(2, 50)] = 14,
        atr_k: Annotated[float, between(0.5, 5.0, step=0.1)] = 2.0,
        target_rr: Annotated[Decimal | float | str, between(1.0, 5.0, step=0.1)] = Decimal("1.5"),
        size_hint: Annotated[Decimal | float | str, SIZE] = Decimal(1),
    ) -> None:
        super().__init__(size_hint)
        self.rsi_period = check_int(self.name, "rsi_period", rsi_period, 2)
        self.oversold = check_float(self.name, "oversold", oversold, 0.0, 100.0)
        self.exit_rsi = check_float(self.name, "exit_rsi", exit_rsi, 0.0, 100.0)
        if self.exit_rsi <= self.oversold:
            raise ConfigError(
                f"Parameter 'exit_rsi' of agent 'mean_reversion' must be above 'oversold' "
                f"({oversold}), not {exit_rsi}."
            )
        self.bb_period = check_int(self.name, "bb_period", bb_period, 2)
        self.bb_k = check_float(self.name, "bb_k", bb_k, 0.0, 10.0)
        self.atr_period = check_int(self.name, "atr_period", atr_period, 1)
        self.atr_k = check_float(self.name, "atr_k", atr_k, 0.0, 100.0)
        self.target_rr = check_decimal(self.name, "target_rr", target_rr, Decimal(0), _MAX_RR)
        # The RSI and the ATR are Wilder averages: wait until they have forgotten their seeds.
        self.warmup = max(
            settles_after(self.rsi_period, wilder=True) + 1,
            self.bb_period,
            settles_after(self.atr_period, wilder=True),
        )
        self._rsi = RSI(self.rsi_period)
        self._bands = Bollinger(self.bb_period, self.bb_k)
        self._atr = ATR(self.atr_period)

    space = ParamSpace.of(__init__)
    """Each parameter as the signature above states it, once (name, range, default)."""

    def _advance(self, candle: Candle) -> None:
        self._rsi.update(candle.close)
        self._bands.update(candle.close)
        self._atr.update(candle.high, candle.low, candle.close)

    def _quiet(self, candle: Candle) -> bool:
        # The tests of _decide below on this bar: neither a recovery nor an oversold dip.
        rsi, lower = self._rsi.value, self._bands.lower
        if rsi is None or lower is None or self._atr.value is None:
            return True
        return not rsi > self.exit_rsi and not (rsi < self.oversold and candle.close < lower)

    def _decide(self, view: AgentView) -> list[Intent]:
        rsi = self._rsi.value
        lower = self._bands.lower
        atr = self._atr.value
        if rsi is None or lower is None or atr is None:
            return []
        close = view.candle.close
        if self.holding(view):
            if rsi > self.exit_rsi:
                reason = f"RSI({self.rsi_period}) {rsi:.1f} rose above {self.exit_rsi:g}"
                recovery = (rsi - self.exit_rsi) / (100.0 - self.exit_rsi)
                return self.close_long(view, 0.5 + 0.5 * min(1.0, recovery), reason)
            return []
        if rsi < self.oversold and close < lower:
            reason = (
                f"RSI({self.rsi_period}) {rsi:.1f} is below {self.oversold:g} and the close "
                f"{close_text(view)} is under the lower Bollinger band({self.bb_period}, "
                f"{self.bb_k:g}) {num_text(lower)}"
            )
            depth = (self.oversold - rsi) / self.oversold
            confidence = 0.5 + 0.5 * min(1.0, 2.0 * depth)
            return self.open_long(view, atr, self.atr_k, self.target_rr, confidence, reason)
        return []
