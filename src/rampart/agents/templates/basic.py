"""Template agent: an agent of one's own (Agent API 1, docs/authors/agents.md).

Run it:      rampart replay --data FILE --agent template_agent.py:TemplateAgent
Search it:   rampart optimize --data FILE --agent template_agent.py:TemplateAgent
Check it:    rampart check-lookahead template_agent.py:TemplateAgent --data FILE
             rampart check-warmup template_agent.py:TemplateAgent --data FILE
"""

from __future__ import annotations

from decimal import Decimal

from rampart.agents.base import AgentView, RuleAgent, check_int
from rampart.agents.indicators import ATR, EMA
from rampart.agents.space import SIZE_HINT, ParamSpace, float_param, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent


class TemplateAgent(RuleAgent):
    """Buys when the close crosses above its EMA; closes the long when it crosses below."""

    name = "template_agent"
    api_version = "1"
    # Every constructor keyword, with the same default: replay --param, optimize and the
    # settings' params read this, and Rampart refuses the agent when the two disagree.
    space = ParamSpace(
        (
            int_param("period", 20, 3, 200, log=True),
            float_param("atr_k", 2.0, 0.5, 5.0, step=0.1),
            SIZE_HINT,
        )
    )

    def __init__(
        self, *, period: int = 20, atr_k: float = 2.0, size_hint: Decimal | str = Decimal(1)
    ) -> None:
        super().__init__(size_hint)
        self.period = check_int(self.name, "period", period, 2)
        self.atr_k = float(atr_k)
        # Bars before the first decision: an EMA remembers every bar it saw, so its signals
        # match a long-running agent's only after a few times its period (check-warmup).
        self.warmup = 5 * max(self.period, 14) + 1
        self._ema = EMA(self.period)
        self._atr = ATR(14)
        self._above: bool | None = None
        self._crossed = False

    def _advance(self, candle: Candle) -> None:
        """One closed bar: the indicators only ever see candles the engine feeds."""
        ema = self._ema.update(candle.close)
        self._atr.update(candle.high, candle.low, candle.close)
        if ema is None:
            return
        above = candle.close > ema
        self._crossed = self._above is not None and above != self._above
        self._above = above

    def _quiet(self, candle: Candle) -> bool:
        # No cross: _decide answers [] to every account, so the engine need not ask.
        return not self._crossed

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        if not self._crossed or atr is None:
            return []
        if self._above and not self.holding(view):
            return self.open_long(view, atr, self.atr_k, Decimal(2), 0.6, "close crossed above EMA")
        if not self._above and self.holding(view):
            return self.close_long(view, 0.6, "close crossed below EMA")
        return []
