"""``check-lookahead`` re-computes a sample of the candles where the
agent stayed quiet, not only its signals: an agent that reads the future only to stay out of
the market (it buys on every candle but those before a fall) proposes the same on every signal
candle cut or whole, and is caught on its quiet ones. Pins ``research/lookahead.py``
``check_lookahead`` (``targets = signals + sampled``)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from rampart.agents.base import AgentView
from rampart.domain.intents import Intent
from rampart.market.loaders import load_candles
from rampart.research.lookahead import check_lookahead
from tests.research.helpers import SHORT, PeekAgent
from tests.research.test_checks import driver


class StayOutAgent(PeekAgent):
    """Buys on every candle unless the next one closes lower: the future only keeps it out."""

    name = "stay-out"

    def _decide(self, view: AgentView) -> list[Intent]:
        atr = self._atr.value
        upcoming = self._next.get(view.candle.ts)
        if atr is None or self.holding(view):
            return []
        if upcoming is not None and upcoming < view.candle.close:
            return []
        return self.open_long(view, atr, 1.5, Decimal("1.5"), 0.9, "always in")


def test_an_agent_that_peeks_only_to_stay_out_is_caught_on_its_quiet_candles(
    shared_data: Path,
) -> None:
    candles = list(load_candles(shared_data / SHORT).series.iter_candles())[:400]
    check = check_lookahead(driver(candles, StayOutAgent), agent="stay-out", signals_max=5, quiet=8)
    report = asyncio.run(check)
    assert not report.ok
    assert report.quiet_checked == 8
    assert report.changes and all(not c.full.any and c.truncated.any for c in report.changes)
    assert report.sentence().startswith("Lookahead:")
