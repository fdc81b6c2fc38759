"""An exit notice names the leg in the API's words (``exit_cause`` of GET .../trades)."""

from __future__ import annotations

import pytest

from rampart.domain.exits import exit_cause
from rampart.notices.investor_notices import LEG_WORDS, exit_leg

CASES = [
    ("take_profit", ""),
    ("stop_loss", ""),
    ("exit", "investor"),
    ("exit", "kill switch: exchange down"),
    ("exit", "paused: checking the key"),
    ("exit", "position monitor"),
    ("exit", "closing the rest of the position"),
    ("exit", "EMA cross down"),
    ("exit", "agent"),
]


@pytest.mark.parametrize(("exit_reason", "order_reason"), CASES)
def test_the_leg_is_the_apis_exit_cause(exit_reason: str, order_reason: str) -> None:
    leg = exit_leg(exit_reason, order_reason)
    assert leg == exit_cause(exit_reason, order_reason)
    assert leg in LEG_WORDS


def test_every_leg_is_reached() -> None:
    assert {exit_leg(r, o) for r, o in CASES} | {"external"} == set(LEG_WORDS)
