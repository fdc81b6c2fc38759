"""Agents by name from config: clear errors for unknown names and bad parameters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rampart.agents.breakout import BreakoutAgent
from rampart.agents.indicators import settles_after
from rampart.agents.mean_reversion import MeanReversionAgent
from rampart.agents.registry import AGENT_NAMES, agent_params, describe_agents, make_agent
from rampart.agents.trend import TrendAgent
from rampart.domain.errors import ConfigError


def test_builtin_names_and_descriptions() -> None:
    assert AGENT_NAMES == ("trend", "mean_reversion", "breakout")
    described = describe_agents()
    assert [name for name, _ in described] == list(AGENT_NAMES)
    for _, line in described:
        assert line and "\n" not in line and line.endswith(".")


@pytest.mark.parametrize(
    ("name", "cls"),
    [("trend", TrendAgent), ("mean_reversion", MeanReversionAgent), ("breakout", BreakoutAgent)],
)
def test_make_agent_builds_fresh_instances_with_defaults(name: str, cls: type) -> None:
    a, b = make_agent(name), make_agent(name, {})
    assert type(a) is cls and type(b) is cls and a is not b
    assert agent_params(name)["size_hint"] == Decimal(1)


def test_spec_defaults() -> None:
    trend = make_agent("trend")
    assert isinstance(trend, TrendAgent)
    assert (trend.fast_period, trend.slow_period, trend.atr_period) == (12, 26, 14)
    assert (trend.atr_k, trend.target_rr) == (2.0, Decimal("2.0"))
    mr = make_agent("mean_reversion")
    assert isinstance(mr, MeanReversionAgent)
    assert (mr.rsi_period, mr.oversold, mr.exit_rsi, mr.bb_period, mr.bb_k) == (14, 30, 55, 20, 2)
    assert mr.target_rr == Decimal("1.5")
    bo = make_agent("breakout")
    assert isinstance(bo, BreakoutAgent)
    assert (bo.period, bo.atr_period, bo.atr_k, bo.target_rr) == (20, 14, 1.5, Decimal("2.0"))


def test_unknown_agent_names_the_choices() -> None:
    with pytest.raises(ConfigError) as err:
        make_agent("foo")
    assert err.value.message == (
        "Unknown agent 'foo': choose one of trend, mean_reversion, breakout, or name your own "
        "as path/to/file.py:ClassName or package.module:ClassName."
    )


def test_parameters_given_as_text_are_read_as_numbers() -> None:
    agent = make_agent("trend", {"fast": "5", "slow": " 30 ", "atr_k": "1.5", "target_rr": "3"})
    assert isinstance(agent, TrendAgent)
    assert (agent.fast_period, agent.slow_period, agent.atr_k) == (5, 30, 1.5)
    assert agent.target_rr == Decimal(3) and agent.warmup == settles_after(30) + 1 == 135


@pytest.mark.parametrize(
    ("name", "params", "culprit"),
    [
        ("trend", {"fast": "x"}, "'fast'"),
        ("trend", {"fast": 2.5}, "'fast'"),
        ("trend", {"fast": True}, "'fast'"),
        ("trend", {"fast": 30}, "'fast'"),
        ("trend", {"slow": 0}, "'slow'"),
        ("trend", {"atr_k": 0}, "'atr_k'"),
        ("trend", {"target_rr": "abc"}, "'target_rr'"),
        ("trend", {"target_rr": -1}, "'target_rr'"),
        ("mean_reversion", {"oversold": 120}, "'oversold'"),
        ("mean_reversion", {"exit_rsi": 20}, "'exit_rsi'"),
        ("mean_reversion", {"bb_k": float("nan")}, "'bb_k'"),
        ("breakout", {"size_hint": 2}, "'size_hint'"),
        ("breakout", {"size_hint": "0"}, "'size_hint'"),
        ("breakout", {"exit_period": -1}, "'exit_period'"),
        ("breakout", {"bogus": 1}, "'bogus'"),
    ],
)
def test_bad_parameters_name_the_parameter(name: str, params: dict, culprit: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_agent(name, params)
    message = err.value.message
    assert culprit in message and f"'{name}'" in message
    assert message.endswith(".") and "\n" not in message


def test_parameters_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping"):
        make_agent("trend", [("fast", 5)])  # type: ignore[arg-type]


def test_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        make_agent("breakout", {"lookback": 10})
    assert all(p in err.value.message for p in agent_params("breakout"))
