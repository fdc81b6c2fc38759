"""An agent past its decision deadline: AgentOverran, P2, naming the agent.

An agent that takes longer than ``engine.agent_deadline_s`` to decide is skipped on that candle
(``rampart.trading.agent_room``); three faults in a row pause its account, which InvestorProblem
then pages per account. This rule names the agent at its first overrun, so its author hears of
a slow model or a hung call before accounts stop trading.
"""

from __future__ import annotations

from rampart.observability.agent_metrics import FAULTS
from rampart.observability.alerts.rule import AlertRule
from rampart.observability.alerts.signals import IncreaseSignal


def agent_rules() -> list[AlertRule]:
    return [
        AlertRule(
            "AgentOverran",
            "P2",
            "Agent {agent} overran its decision deadline at least {threshold} time(s) in "
            "{window}: it was skipped on those candles, and three faults in a row pause its "
            "account (engine.agent_deadline_s, engine.agent_deadlines).",
            IncreaseSignal(FAULTS, 900, match={"kind": "overran"}, by=("agent",)),
            ">=",
            1,
            0,
        ),
    ]


__all__ = ["agent_rules"]
