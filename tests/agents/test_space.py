"""Each agent declares its parameters once; ``replay --param`` and the search read the same
declarations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.agents.registry import AGENT_NAMES, agent_params, agent_space, make_agent
from rampart.domain.errors import ConfigError
from rampart.wiring.replay import parse_params

EVERY = (*AGENT_NAMES, "ml", "llm")


@pytest.mark.parametrize("name", EVERY)
def test_the_declarations_are_the_constructor_keywords_with_their_defaults(name: str) -> None:
    space = agent_space(name)
    assert space.defaults() == agent_params(name)
    for param in space:
        if param.kind != "choice":
            assert param.low <= param.default <= param.high, param
        # every value at the edges of the range builds the agent (alone, others at default)
        for edge in (param.low, param.high) if param.kind != "choice" else param.choices:
            value = param.read(name, edge)
            if name == "trend" and param.name in ("fast", "slow"):
                continue  # the pair is checked together (fast < slow) by the agent
            if name == "mean_reversion" and param.name in ("oversold", "exit_rsi"):
                continue
            make_agent(name, {param.name: value})


def test_parse_params_refuses_names_and_values_outside_the_declarations() -> None:
    assert parse_params("trend", ["fast=8", "target_rr=2.5"]) == {
        "fast": 8,
        "target_rr": Decimal("2.5"),
    }
    with pytest.raises(ConfigError, match="Agent 'trend' has no parameter 'speed'"):
        parse_params("trend", ["speed=3"])
    with pytest.raises(
        ConfigError,
        match=r"Parameter 'fast' of agent 'trend' must be a whole number from 2 to 50, not '500'",
    ):
        parse_params("trend", ["fast=500"])
    with pytest.raises(ConfigError, match="must be a number from 1 to 5"):
        parse_params("trend", ["target_rr=0.5"])  # the agent itself would take 0.5
    with pytest.raises(ConfigError, match="whole number"):
        parse_params("breakout", ["period=20.5"])
    with pytest.raises(ConfigError, match="one of trend, mean_reversion, breakout"):
        parse_params("llm", ["fallback=ml"])
    # inside the ranges, the agent's own cross-check still speaks
    with pytest.raises(ConfigError, match="must be shorter than 'slow'"):
        parse_params("trend", ["fast=30", "slow=10"])


def test_canonical_form_compares_two_spellings_of_one_setting() -> None:
    space = agent_space("trend")
    a = space.canonical("trend", {"fast": "8", "target_rr": "2.50"})
    b = space.canonical("trend", {"fast": 8, "target_rr": Decimal("2.5"), "slow": 26})
    assert a == b
    assert a["atr_k"] == 2.0 and a["target_rr"] == "2.5"
