"""Freqtrade's strategy-101 example (docs/strategy-101.md), ported with from-freqtrade.md."""

from decimal import Decimal

from rampart.agents.base import AgentView, RuleAgent
from rampart.agents.roi import RoiStop
from rampart.agents.space import SIZE_HINT, ParamSpace
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.market.talib_window import TalibWindow


class MyStrategy(RuleAgent):
    """Buys RSI(14) under 30, sells it over 70; a 10 % stop and a 1 % ROI."""

    name = "freqtrade_101"
    exits = RoiStop(minimal_roi={"0": 0.01}, stoploss=-0.10)
    space = ParamSpace((SIZE_HINT,))

    def __init__(self, *, size_hint: Decimal = Decimal(1)) -> None:
        super().__init__(size_hint)
        self.ta, self.warmup = TalibWindow(), 15
        self.enter = self.exit = False

    def _advance(self, candle: Candle) -> None:
        self.ta.update(candle)
        rsi = self.ta("RSI", timeperiod=14)
        self.enter, self.exit = rsi < 30, rsi > 70  # populate_entry_trend, populate_exit_trend

    def _decide(self, view: AgentView) -> list[Intent]:
        if not self.holding(view):
            return (
                self.exits.open_long(view, self.name, "RSI under 30")
                if self.enter and not self.exit
                else []
            )
        if self.exit and not self.enter:  # an entry and an exit on one candle: neither
            return self.close_long(view, 0.6, "RSI over 70")
        return self.exits.roi_exit(view, self.name)
