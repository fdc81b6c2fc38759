"""Why an entry was made, in words an investor reads (not "EMA(12)
30,114.2 crossed above EMA(26) …; stop 1.50 % below at ATR×2, target 2.00R").

The agent's own rationale stays where authors and operators read it (``rampart trace``, the
intents table, the log); a notice says what the built-in strategy saw in everyday words. An
agent this module does not know keeps its rationale, less the bracket's technical tail.
"""

from __future__ import annotations

import re
from decimal import Decimal

PLAIN = {
    "trend": "the price turned upward: its short-term average rose above its longer-term one",
    "breakout": "the price broke above its recent range",
    "mean_reversion": (
        "the price fell unusually far below its recent level, and such drops often bounce back"
    ),
}
"""Per built-in agent, what its entries mean."""

_TAIL = re.compile(r";\s*stop [^;]*?below\b.*$", re.DOTALL)
"""What :meth:`rampart.agents.base.Agent.open_long` appends to every rationale: the stop's
distance in ATRs and the target in R, which the notice's own stop and target lines replace."""


def plain_reason(agent: str, rationale: str, confidence: float | None = None) -> str:
    """The reason for an entry of ``agent`` as an investor reads it; "" when there is none."""
    base = agent.split(":", 1)[0].strip().lower()
    if base in PLAIN:
        return PLAIN[base]
    if base == "ml":
        sure = f" (its confidence: {confidence:.0%})" if confidence is not None else ""
        return f"the trading model expects the price to rise{sure}"
    text = _TAIL.sub("", rationale or "").strip().rstrip(".")
    return text if text != agent else ""


def change(price: Decimal, entry: Decimal) -> str:
    """``price`` against ``entry`` in percent, signed: ``−1.50 %``, ``+3.00 %``."""
    if entry <= 0:
        return ""
    share = (price - entry) / entry * 100
    sign = "+" if share > 0 else ("−" if share < 0 else "")
    return f"{sign}{abs(share).quantize(Decimal('0.01'))} %"


__all__ = ["PLAIN", "change", "plain_reason"]
