"""Freqtrade's strategy_test_v3.py (its long side, its saved parameters), ported with
docs/authors/from-freqtrade.md."""

from decimal import Decimal

from rampart.agents.base import AgentView, RuleAgent
from rampart.agents.roi import RoiStop
from rampart.agents.space import SIZE_HINT, ParamSpace, float_param, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.market.talib_window import TalibWindow


class StrategyTestV3(RuleAgent):
    """Buys a low RSI and fast %D in a strong trend (ADX), or any very strong one; sells RSI or
    fast %D crossing up."""

    name = "strategy_test_v3"
    exits = RoiStop(minimal_roi={"40": 0.0, "30": 0.01, "20": 0.02, "0": 0.04}, stoploss=-0.10)
    # The defaults are the saved parameter set: buy_params and sell_params override Freqtrade's
    # defaults (buy_rsi 35, sell_rsi 74); sell_minusdi is load=False, so its default stays
    # (0.5001 kept to 3 decimals: 0.5), and buy_plusdi is not in the set (default 0.5).
    space = ParamSpace(
        (
            int_param("buy_rsi", 35, 0, 50),
            float_param("buy_plusdi", 0.5, 0.0, 1.0, step=0.01),
            int_param("sell_rsi", 74, 50, 100),
            float_param("sell_minusdi", 0.5, 0.0, 1.0, step=0.001),
            SIZE_HINT,
        )
    )

    def __init__(
        self,
        *,
        buy_rsi: int = 35,
        buy_plusdi: float = 0.5,
        sell_rsi: int = 74,
        sell_minusdi: float = 0.5,
        size_hint: Decimal = Decimal(1),
    ) -> None:
        super().__init__(size_hint)
        self.p = {
            "buy_rsi": buy_rsi,
            "buy_plusdi": buy_plusdi,
            "sell_rsi": sell_rsi,
            "sell_minusdi": sell_minusdi,
        }
        self.ta, self.warmup = TalibWindow(), 20  # startup_candle_count
        self.enter = self.exit = False

    def _advance(self, candle: Candle) -> None:
        ta, p = self.ta, self.p
        ta.update(candle)
        adx, plus_di, minus_di = ta("ADX"), ta("PLUS_DI"), ta("MINUS_DI")
        rsi, rsi_before = ta("RSI"), ta("RSI", back=1)
        fastd, fastd_before = ta("STOCHF", "fastd"), ta("STOCHF", "fastd", back=1)
        buy_di = plus_di > p["buy_plusdi"]
        self.enter = (rsi < p["buy_rsi"] and fastd < 35 and adx > 30 and buy_di) or (
            adx > 65 and buy_di
        )
        rsi_up = rsi > p["sell_rsi"] and rsi_before <= p["sell_rsi"]  # qtpylib.crossed_above
        fastd_up = fastd > 70 and fastd_before <= 70
        self.exit = ((rsi_up or fastd_up) and adx > 10 and minus_di > 0) or (
            adx > 70 and minus_di > p["sell_minusdi"]
        )

    def _decide(self, view: AgentView) -> list[Intent]:
        if not self.holding(view):
            return (
                self.exits.open_long(view, self.name, "RSI low, ADX strong")
                if self.enter and not self.exit
                else []
            )
        if self.exit and not self.enter:  # an entry and an exit on one candle: neither
            return self.close_long(view, 0.6, "RSI or fast %D crossed up")
        return self.exits.roi_exit(view, self.name)
