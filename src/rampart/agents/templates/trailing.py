"""Template agent: an agent with a trailing stop (Agent API 1, docs/authors/agents.md).

Buys when the close crosses above its EMA with an ATR stop and a distant target, then trails the
stop ``trail_k`` ATRs under the close as the price rises (never lowering it: ``trail_stop``), so
a winner is kept until the trend turns; closes when the close crosses back below the EMA.

Run it:      rampart replay --data FILE --agent template_agent.py:TemplateAgent
Check it:    rampart check-lookahead template_agent.py:TemplateAgent --data FILE
             rampart check-warmup template_agent.py:TemplateAgent --data FILE
"""

from __future__ import annotations

from decimal import Decimal

from rampart.agents.adjust import trail_stop
from rampart.agents.base import AgentView, RuleAgent, check_int
from rampart.agents.indicators import ATR, EMA
from rampart.agents.space import SIZE_HINT, ParamSpace, float_param, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.domain.money import dec


class TemplateAgent(RuleAgent):
    """An EMA-cross long whose stop trails the price by a few ATRs."""

    name = "template_agent"
    api_version = "1"
    space = ParamSpace(
        (
            int_param("period", 20, 3, 200, log=True),
            float_param("atr_k", 2.0, 0.5, 5.0, step=0.1),
            float_param("trail_k", 2.0, 0.5, 5.0, step=0.1),
            SIZE_HINT,
        )
    )

    def __init__(
        self,
        *,
        period: int = 20,
        atr_k: float = 2.0,
        trail_k: float = 2.0,
        size_hint: Decimal | str = Decimal(1),
    ) -> None:
        super().__init__(size_hint)
        self.period = check_int(self.name, "period", period, 2)
        self.atr_k = float(atr_k)
        self.trail_k = float(trail_k)
        # An EMA remembers every bar it saw: its signals match a long-running agent's only
        # after a few times its period (check-warmup).
        self.warmup = 5 * max(self.period, 14) + 1
        self._ema = EMA(self.period)
        self._atr = ATR(14)
        self._above: bool | None = None
        self._crossed = False

    def _advance(self, candle: Candle) -> None:
        ema = self._ema.update(candle.close)
        self._atr.update(candle.high, candle.low, candle.close)
        if ema is None:
            return
        above = candle.close > ema
        self._crossed = self._above is not None and above != self._above
        self._above = above

    # No _quiet: a position held may want its stop raised on any bar, so the agent is asked
    # on every one (a quiet bar must be quiet whatever the account holds).

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        if atr is None:
            return []
        holding = self.holding(view)
        if self._crossed and self._above and not holding:
            return self.open_long(view, atr, self.atr_k, Decimal(4), 0.6, "close crossed above EMA")
        if self._crossed and not self._above and holding:
            return self.close_long(view, 0.6, "close crossed below EMA")
        if holding and atr > 0:
            return trail_stop(view, self.name, distance=dec(self.trail_k * atr))
        return []
