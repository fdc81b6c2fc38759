"""EMA cross with an RSI filter (docs/authors/from-freqtrade.md): the stop and target built in."""

from decimal import Decimal

from rampart.agents.base import AgentView, RuleAgent
from rampart.agents.indicators import ATR, EMA, RSI
from rampart.agents.space import SIZE_HINT, ParamSpace, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent


class EmaRsi(RuleAgent):
    """Buys the fast EMA crossing above the slow one with RSI under 70; sells the cross back."""

    name = "ema_rsi"
    space = ParamSpace((int_param("fast", 12, 3, 20), int_param("slow", 26, 21, 200), SIZE_HINT))
    plot = ("fast", "slow", ("rsi", "RSI"))  # over the price, and RSI in a pane of its own

    def __init__(self, *, fast: int = 12, slow: int = 26, size_hint: Decimal = Decimal(1)) -> None:
        super().__init__(size_hint)
        self.fast, self.slow, self.rsi, self.atr = EMA(fast), EMA(slow), RSI(14), ATR(14)
        self.warmup, self.up, self.was_up = 5 * slow, False, False

    def _advance(self, candle: Candle) -> None:
        fast, slow = self.fast.update(candle.close), self.slow.update(candle.close)
        self.rsi.update(candle.close)
        self.atr.update(candle.high, candle.low, candle.close)
        self.was_up, self.up = self.up, fast is not None and slow is not None and fast > slow

    def _decide(self, view: AgentView) -> list[Intent]:
        atr, rsi = self.atr.value, self.rsi.value
        if self.up and not self.was_up and not self.holding(view) and atr and rsi and rsi < 70:
            return self.open_long(view, atr, 2.0, Decimal(2), 0.6, f"EMA cross up, RSI {rsi:.0f}")
        if self.was_up and not self.up and self.holding(view):
            return self.close_long(view, 0.6, "EMA cross down")
        return []
