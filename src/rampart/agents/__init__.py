"""Agents: given a read-only view of recent candles, the account and its position, propose
intents with a stop-loss and a take-profit. Built in: trend, mean reversion, breakout."""

from rampart.agents.base import Agent, AgentConstraints, AgentView, bracket_from_atr
from rampart.agents.registry import AGENT_NAMES, describe_agents, make_agent

__all__ = [
    "AGENT_NAMES",
    "Agent",
    "AgentConstraints",
    "AgentView",
    "bracket_from_atr",
    "describe_agents",
    "make_agent",
]
