"""Template agent: an agent that takes profit in steps (Agent API 1, docs/authors/agents.md).

Buys when the close crosses above its EMA with an ATR stop and a distant target. Once the close
is ``step_r`` times the risk (R: the entry minus the first stop) above the entry it sells half
(``reduce_position``) and moves the stop up to the entry (``move_stop``); at twice that it sells
half of the rest. What is left leaves by its stop or its target.
How far it has got is read from the position itself (``position.exits``), not kept by the
agent: one agent decides for every account on the symbol.

Run it:      rampart replay --data FILE --agent template_agent.py:TemplateAgent
Check it:    rampart check-lookahead template_agent.py:TemplateAgent --data FILE
             rampart check-warmup template_agent.py:TemplateAgent --data FILE
"""

from __future__ import annotations

from decimal import Decimal

from rampart.agents.adjust import move_stop, reduce_position
from rampart.agents.base import AgentView, RuleAgent, check_int
from rampart.agents.indicators import ATR, EMA
from rampart.agents.space import SIZE_HINT, ParamSpace, float_param, int_param
from rampart.domain.candles import Candle
from rampart.domain.intents import Intent
from rampart.domain.money import ZERO, dec

HALF = Decimal("0.5")


class TemplateAgent(RuleAgent):
    """An EMA-cross long sold in steps as it reaches 1R and 2R."""

    name = "template_agent"
    api_version = "1"
    space = ParamSpace(
        (
            int_param("period", 20, 3, 200, log=True),
            float_param("atr_k", 2.0, 0.5, 5.0, step=0.1),
            float_param("step_r", 1.0, 0.5, 3.0, step=0.1),
            SIZE_HINT,
        )
    )

    def __init__(
        self,
        *,
        period: int = 20,
        atr_k: float = 2.0,
        step_r: float = 1.0,
        size_hint: Decimal | str = Decimal(1),
    ) -> None:
        super().__init__(size_hint)
        self.period = check_int(self.name, "period", period, 2)
        self.atr_k = float(atr_k)
        self.step_r = dec(step_r)
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

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        if atr is None:
            return []
        holding = self.holding(view)
        if self._crossed and self._above and not holding:
            return self.open_long(view, atr, self.atr_k, Decimal(4), 0.6, "close crossed above EMA")
        pos = view.position
        if pos is None or not holding:
            return []
        risk = pos.avg_price - pos.initial_stop
        steps_taken = pos.exits  # each step is one sell; the stop or target ends the trade
        if risk <= ZERO or steps_taken >= 2:
            return []
        close = dec(view.candle.close)
        if close < pos.avg_price + risk * self.step_r * (steps_taken + 1):
            return []
        why = f"{steps_taken + 1} × {self.step_r}R reached"
        intents = reduce_position(view, self.name, HALF, f"{why}: selling half")
        if steps_taken == 0:
            # The rest can no longer lose: its stop goes up to the entry (on the tick).
            entry = view.instrument.round_price(pos.avg_price)
            if pos.stop_loss < entry < close:
                intents += move_stop(view, self.name, stop=entry, reason=f"{why}: stop to entry")
        return intents
