"""What agents did wrong, as the series AgentOverran reads: every decision the boundary refused
(``rampart.trading.agent_room``), by agent and kind of fault.

``rampart_agent_faults_total{agent,kind}``: ``answer`` (something the engine cannot act on),
``raised`` (an exception), ``overran`` (past its decision deadline, skipped on that candle).
Agents are few, so the labels stay few; the account a fault paused is InvestorProblem's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from rampart.domain.events import AgentFaulted, Event

FAULTS = "rampart_agent_faults_total"
KINDS = ("answer", "raised", "overran")


class AgentMetrics:
    def __init__(self, r: CollectorRegistry) -> None:
        self.faults = Counter(
            FAULTS,
            "Decisions an agent's answer was refused for at the engine's boundary, by agent "
            "and kind: answer (not one the engine can act on), raised, overran (past its "
            "deadline, skipped on that candle).",
            ["agent", "kind"],
            registry=r,
        )

    def on_event(self, event: Event) -> None:
        """Bus subscriber (decisions topic)."""
        if isinstance(event, AgentFaulted):
            self.faults.labels(agent=event.agent, kind=event.kind).inc()
