"""Who or what closed a trade, in the one word the API's trades, the notices and the reports
show."""

from __future__ import annotations

import pytest

from rampart.domain.exits import exit_cause


@pytest.mark.parametrize(
    ("exit_reason", "order_reason", "cause"),
    [
        # The bracket's legs and a sale by hand say it themselves, whatever the order said.
        ("take_profit", None, "take-profit"),
        ("stop_loss", "investor", "stop-loss"),
        ("external", None, "external"),
        # An exit order: its own reason says who asked for it.
        ("exit", "investor", "investor"),
        ("exit", "kill switch: operator flattened", "flatten"),
        ("exit", "paused: investor paused with flatten", "flatten"),
        ("exit", "position monitor", "guard"),
        ("exit", "closing the rest of the position", "guard"),
        ("exit", "trend reversed", "agent"),
        ("exit", "", "agent"),
        ("exit", "Investor", "agent"),
        ("exit", "the position monitor", "agent"),
        ("exit", "paused by the operator", "agent"),  # no "paused: " prefix
        # The closing order is not known: the ledger's own word stays.
        ("exit", None, "exit"),
        ("dust", None, "dust"),
        ("dust", "investor", "dust"),
    ],
)
def test_the_cause_of_a_close(exit_reason: str, order_reason: str | None, cause: str) -> None:
    assert exit_cause(exit_reason, order_reason) == cause
