"""Agents by name, built from config parameters with clear errors.

The built-in names first; anything else (``path/to/file.py:Class``, ``package.module:Class``, an
installed package's entry point) is resolved, and checked once, by ``rampart.agents.plugins``:
every caller that names an agent goes through the functions below."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from rampart.agents.base import Agent, RuleAgent
from rampart.agents.breakout import BreakoutAgent
from rampart.agents.fingerprint import code_hash
from rampart.agents.llm import FALLBACKS, DecisionSource, LlmAgent
from rampart.agents.llm import NAME as LLM_AGENT
from rampart.agents.mean_reversion import MeanReversionAgent
from rampart.agents.ml import MlAgent, ModelSource
from rampart.agents.plugins import PluginAgent, resolve
from rampart.agents.space import ParamSpace
from rampart.agents.spans import InputSpan, input_spans
from rampart.agents.trend import TrendAgent
from rampart.domain.errors import ConfigError


class RuleAgentClass(Protocol):
    """A rule agent class as the registry uses it: named, described, built from keywords.

    Not ``type[RuleAgent]``: the base class takes ``size_hint`` positionally, while every
    concrete agent takes all its parameters (with defaults) as keywords.
    """

    name: str
    description: str
    space: ParamSpace

    def __call__(self, *args: Any, **kwargs: Any) -> RuleAgent: ...


_AGENTS: dict[str, RuleAgentClass] = {
    cls.name: cls for cls in (TrendAgent, MeanReversionAgent, BreakoutAgent)
}
AGENT_NAMES: tuple[str, ...] = tuple(_AGENTS)
"""The rule agents. ``llm`` is built here too, but needs a model configured to be itself."""
if FALLBACKS != AGENT_NAMES:  # pragma: no cover - a rule agent added without the llm's list
    raise TypeError("rampart.agents.llm.FALLBACKS must list every rule agent")
LLM_PARAMS: dict[str, Any] = LlmAgent.space.defaults()
"""The ``llm`` agent's parameters with their defaults, as its constructor states them."""


def describe_agents() -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in agent."""
    return [(name, cls.description) for name, cls in _AGENTS.items()]


def agent_space(name: str) -> ParamSpace:
    """The parameters ``name`` declares (types, ranges, defaults); ConfigError for an unknown
    agent."""
    if name == LLM_AGENT:
        return LlmAgent.space
    plugin = _plugin(name)
    if plugin is not None:
        return plugin.space
    space: ParamSpace = _agent_class(name).space
    return space


def agent_params(name: str) -> dict[str, Any]:
    """The parameters an agent takes, with their defaults."""
    if name == LLM_AGENT:
        return dict(LLM_PARAMS)
    plugin = _plugin(name)
    if plugin is not None:
        return plugin.space.defaults()
    space: ParamSpace = _agent_class(name).space
    return space.defaults()


def make_agent(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    llm: DecisionSource | None = None,
    fallback: str = "trend",
    models: ModelSource | None = None,
) -> Agent:
    """A fresh agent. Unknown names and bad parameters raise ConfigError naming the culprit.

    ``llm`` is the model the ``llm`` agent asks (without one, its fallback rule agent decides);
    ``fallback`` names that rule agent unless the parameters do. ``models`` serves the ``ml``
    agent its production model; without one it proposes nothing.
    """
    if name == LLM_AGENT:
        return _make_llm(params, llm, fallback)
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"Parameters of agent '{name}' must be a mapping of names to values.")
    plugin = _plugin(name)
    if plugin is not None:
        return _make_plugin(plugin, params or {})
    cls = _agent_class(name)
    defaults = agent_params(name)
    kwargs: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if key not in defaults:
            known = ", ".join(defaults)
            raise ConfigError(f"Agent '{name}' has no parameter '{key}': choose from {known}.")
        kwargs[key] = _coerce(value, defaults[key])
    if cls is MlAgent:
        return MlAgent(models=models, **kwargs)
    return cls(**kwargs)


def _make_llm(
    params: Mapping[str, Any] | None, source: DecisionSource | None, fallback: str
) -> LlmAgent:
    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(
            f"Parameters of agent '{LLM_AGENT}' must be a mapping of names to values."
        )
    kwargs: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if key not in LLM_PARAMS:
            known = ", ".join(LLM_PARAMS)
            raise ConfigError(f"Agent '{LLM_AGENT}' has no parameter '{key}': choose from {known}.")
        kwargs[key] = value if key == "fallback" else _coerce(value, LLM_PARAMS[key])
    rule = kwargs.pop("fallback", None) or fallback
    if rule not in _AGENTS:
        raise ConfigError(
            f"The fallback of agent '{LLM_AGENT}' must be a rule agent "
            f"({', '.join(AGENT_NAMES)}), not {rule!r}."
        )
    return LlmAgent(source, _AGENTS[rule](), **kwargs)


def _plugin(name: str) -> PluginAgent | None:
    """The custom agent ``name`` names; None for a built-in (or unknown) plain name."""
    if name in _AGENTS or name == MlAgent.name or not isinstance(name, str):
        return None
    return resolve(name)


def _make_plugin(plugin: PluginAgent, params: Mapping[str, Any]) -> Agent:
    checked = plugin.space.check(plugin.spec, params)
    try:
        agent: Agent = plugin.cls(**checked)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"Agent {plugin.spec!r} refused its parameters: {type(exc).__name__} ({exc})."
        ) from None
    return agent


def _agent_class(name: str) -> RuleAgentClass:
    if name == MlAgent.name:
        # Not in AGENT_NAMES (the rule agents): it trades only once a model is promoted.
        return MlAgent
    try:
        return _AGENTS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"Unknown agent {name!r}: choose one of {', '.join(AGENT_NAMES)}, or name your own "
            "as path/to/file.py:ClassName or package.module:ClassName."
        ) from None


def _coerce(value: Any, default: Any) -> Any:
    """Read numbers given as text (environment variables, query strings) as the default's type.

    Anything that does not read is passed on unchanged, so the agent's own check names the
    parameter and the expected range.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if isinstance(default, bool):
            return value
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, Decimal):
            return Decimal(text)
    except (ValueError, ArithmeticError):
        return value
    return value


def agent_code_hash(name: str) -> str:
    """The hash of the code (and declared files) of the agent ``name`` names
    (``rampart.agents.fingerprint``): research evidence is for this code only."""
    plugin = _plugin(name)
    if plugin is not None:
        return code_hash(plugin.cls)  # type: ignore[arg-type]
    return code_hash(LlmAgent if name == LLM_AGENT else _agent_class(name))  # type: ignore[arg-type]


def agent_input_spans(name: str) -> tuple[InputSpan, ...]:
    """The span each declared input of the agent ``name`` names states
    (``rampart.agents.spans``): evidence counts only candles after them."""
    plugin = _plugin(name)
    if plugin is not None:
        return input_spans(plugin.cls)  # type: ignore[arg-type]
    return input_spans(LlmAgent if name == LLM_AGENT else _agent_class(name))  # type: ignore[arg-type]
