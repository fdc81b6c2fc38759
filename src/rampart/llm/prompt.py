"""A compact, deterministic market summary for the model.

The same candles and position always give byte-identical messages, so the cache (keyed on the
messages) hits on a replay. Nothing account-specific beyond "holding or not" and the profile's
stop limits goes in: accounts in the same situation share one answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rampart.agents.base import AgentView, num_text, pct_text
from rampart.agents.indicators import ATR, EMA, RSI
from rampart.domain.candles import Candle

SYSTEM = (
    "You are a cautious spot crypto trading assistant. Reply with ONE JSON object only: "
    '{"action": "enter" or "hold", "symbol": str, "side": "buy", "stop_loss": number, '
    '"take_profit": number, "confidence": 0..1, "rationale": short str}. '
    "An entry needs the stop below the last close and the target above it, within the stop "
    "limits given. When unsure, hold."
)


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: tuple[dict[str, str], ...]

    def as_list(self) -> list[dict[str, str]]:
        return [dict(m) for m in self.messages]

    def canonical(self) -> str:
        return json.dumps(self.as_list(), sort_keys=True, separators=(",", ":"))


def _indicators(bars: Sequence[Candle]) -> dict[str, str]:
    fast, slow, rsi, atr = EMA(9), EMA(21), RSI(14), ATR(14)
    for c in bars:
        fast.update(c.close)
        slow.update(c.close)
        rsi.update(c.close)
        atr.update(c.high, c.low, c.close)
    found = {"ema9": fast.value, "ema21": slow.value, "rsi14": rsi.value, "atr14": atr.value}
    return {k: num_text(v) for k, v in found.items() if v is not None}


def market_summary(view: AgentView, bars: int) -> dict[str, Any]:
    recent = list(view.history)[-bars:]
    holding = view.position is not None and view.position.qty > 0
    return {
        "symbol": view.symbol,
        "timeframe_s": view.candle.timeframe_ms // 1000,
        "last_close": num_text(view.candle.close, 10),
        "closes": [num_text(c.close) for c in recent],
        "high": num_text(max(c.high for c in recent)),
        "low": num_text(min(c.low for c in recent)),
        "indicators": _indicators(list(view.history)),
        "holding": holding,
        "stop_limits": [pct_text(view.constraints.min_stop), pct_text(view.constraints.max_stop)],
        "min_reward_risk": str(view.constraints.min_rr),
    }


def build_prompt(view: AgentView, bars: int = 20) -> Prompt:
    summary = json.dumps(market_summary(view, bars), sort_keys=True, separators=(",", ":"))
    return Prompt(({"role": "system", "content": SYSTEM}, {"role": "user", "content": summary}))


def text_prompt(text: str, context: dict[str, Any]) -> Prompt:
    """For ``/vibe``: the investor's sentence and the prices it may refer to."""
    user = json.dumps({"request": text, **context}, sort_keys=True, separators=(",", ":"))
    system = SYSTEM + " The user describes a trade in words; turn it into that JSON object."
    return Prompt(({"role": "system", "content": system}, {"role": "user", "content": user}))
