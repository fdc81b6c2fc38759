"""Template agent: an agent reading a higher timeframe (Agent API 1, docs/authors/agents.md).

It trades the close crossing its EMA on its own candles, but only with the hourly trend: the
last closed hourly bar above the mean of the hourly closes before it. The hourly bars come
from ``informative`` (Freqtrade's informative pairs): the view holds closed ones only.

Run it:      rampart replay --data FILE --agent template_agent.py:TemplateAgent
Check it:    rampart check-lookahead template_agent.py:TemplateAgent --data FILE
             rampart check-warmup template_agent.py:TemplateAgent --data FILE
"""

from __future__ import annotations

from decimal import Decimal

from rampart.agents.base import AgentView, RuleAgent, check_int
from rampart.agents.indicators import ATR, EMA, settles_after
from rampart.agents.informative import bars_for
from rampart.agents.space import SIZE_HINT, ParamSpace, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent


class TemplateAgent(RuleAgent):
    """Buys the close crossing above its EMA while the hourly trend is up; sells the cross back."""

    name = "template_agent"
    api_version = "1"
    timeframe = "5m"
    """The candles it is meant for: its warm-up counts them (hourly bars × 12)."""
    informative = ("1h",)  # its own symbol's hourly bars; ("ETH/BTC", "1h") for another's
    space = ParamSpace((int_param("period", 20, 3, 100), int_param("hours", 6, 2, 24), SIZE_HINT))

    def __init__(
        self, *, period: int = 20, hours: int = 6, size_hint: Decimal | str = Decimal(1)
    ) -> None:
        super().__init__(size_hint)
        self.period = check_int(self.name, "period", period, 2)
        self.hours = check_int(self.name, "hours", hours, 2)
        # Each series its own warm-up: the EMA settles on base bars; the hourly mean needs
        # `hours` closed hours, counted in base bars (bars_for).
        self.warmup = max(
            settles_after(self.period) + 1, bars_for(self.hours, "1h", self.timeframe)
        )
        self._ema, self._atr = EMA(self.period), ATR(14)
        self._above: bool | None = None
        self._crossed = False

    def _advance(self, candle: Candle) -> None:
        ema = self._ema.update(candle.close)
        self._atr.update(candle.high, candle.low, candle.close)
        if ema is not None:
            above = candle.close > ema
            self._crossed = self._above is not None and above != self._above
            self._above = above

    def _quiet(self, candle: Candle) -> bool:
        return not self._crossed

    def _decide(self, view: AgentView) -> list[Intent]:
        atr, hourly = self._atr.value, view.series("1h")[-self.hours :]
        if not self._crossed or atr is None or len(hourly) < self.hours:
            return []
        mean = sum(bar.close for bar in hourly[:-1]) / (len(hourly) - 1)
        if self._above and hourly[-1].close > mean and not self.holding(view):
            return self.open_long(view, atr, 2.0, Decimal(2), 0.6, "cross up, hourly trend up")
        if not self._above and self.holding(view):
            return self.close_long(view, 0.6, "close crossed below EMA")
        return []
