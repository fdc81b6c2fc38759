"""Freqtrade's sample_strategy.py (its long side), ported with docs/authors/from-freqtrade.md."""

from collections import deque
from decimal import Decimal

from rampart.agents.base import AgentView, RuleAgent
from rampart.agents.roi import RoiStop
from rampart.agents.space import SIZE_HINT, ParamSpace, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.market.talib_window import TalibWindow


class SampleStrategy(RuleAgent):
    """RSI crossing 30 up with TEMA rising under the Bollinger middle; out on RSI crossing 70
    up with TEMA falling over it."""

    name = "sample_strategy"
    exits = RoiStop(minimal_roi={"60": 0.01, "30": 0.02, "0": 0.04}, stoploss=-0.10)
    space = ParamSpace(
        (int_param("buy_rsi", 30, 1, 50), int_param("sell_rsi", 70, 50, 100), SIZE_HINT)
    )

    def __init__(
        self, *, buy_rsi: int = 30, sell_rsi: int = 70, size_hint: Decimal = Decimal(1)
    ) -> None:
        super().__init__(size_hint)
        self.buy_rsi, self.sell_rsi = buy_rsi, sell_rsi
        self.ta, self.warmup = TalibWindow(), 200  # startup_candle_count
        self.typical: deque[float] = deque(maxlen=20)
        self.enter = self.exit = False

    def _advance(self, candle: Candle) -> None:
        ta = self.ta
        ta.update(candle)
        # qtpylib.bollinger_bands(typical_price, window=20): its middle, from the first candle.
        self.typical.append((candle.high + candle.low + candle.close) / 3.0)
        middle = sum(self.typical) / len(self.typical)
        rsi, rsi_before = ta("RSI"), ta("RSI", back=1)
        tema, tema_before = ta("TEMA", timeperiod=9), ta("TEMA", timeperiod=9, back=1)
        traded = candle.volume > 0
        up = rsi > self.buy_rsi and rsi_before <= self.buy_rsi  # qtpylib.crossed_above
        self.enter = up and tema <= middle and tema > tema_before and traded
        over = rsi > self.sell_rsi and rsi_before <= self.sell_rsi
        self.exit = over and tema > middle and tema < tema_before and traded

    def _decide(self, view: AgentView) -> list[Intent]:
        if not self.holding(view):
            return (
                self.exits.open_long(view, self.name, "RSI crossed 30")
                if self.enter and not self.exit
                else []
            )
        if self.exit and not self.enter:  # an entry and an exit on one candle: neither
            return self.close_long(view, 0.6, "RSI crossed 70")
        return self.exits.roi_exit(view, self.name)
