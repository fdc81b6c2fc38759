"""Each built-in agent states a parameter once: in its constructor's
signature, ``name: Annotated[type, between(low, high, ...)] = default``; its ``space`` (what
``--param``, ``rampart agents`` and ``optimize`` read) is taken from there. A space listed
beside the constructor, or a default the two disagree on, fails here."""

from __future__ import annotations

import ast
import inspect
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import pytest

from rampart.agents.breakout import BreakoutAgent
from rampart.agents.llm import LlmAgent
from rampart.agents.mean_reversion import MeanReversionAgent
from rampart.agents.ml import MlAgent
from rampart.agents.registry import agent_params
from rampart.agents.space import ParamSpace, between
from rampart.agents.trend import TrendAgent

BUILT_IN = [TrendAgent, MeanReversionAgent, BreakoutAgent, MlAgent, LlmAgent]
PARAM_FUNCTIONS = {"int_param", "float_param", "decimal_param", "SIZE_HINT"}


def _class_node(cls: type) -> ast.ClassDef:
    tree = ast.parse(Path(inspect.getfile(cls)).read_text(encoding="utf-8"))
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls.__name__)


@pytest.mark.parametrize("cls", BUILT_IN, ids=lambda c: c.name)
def test_the_space_is_the_constructors(cls: type) -> None:
    node = _class_node(cls)
    space = next(
        s.value
        for s in node.body
        if isinstance(s, ast.Assign) and [ast.unparse(t) for t in s.targets] == ["space"]
    )
    assert ast.unparse(space).startswith("ParamSpace.of(__init__"), ast.unparse(space)
    stated = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & PARAM_FUNCTIONS
    assert not stated, f"{cls.name} lists parameters beside its constructor: {stated}"


@pytest.mark.parametrize("cls", BUILT_IN, ids=lambda c: c.name)
def test_defaults_agree(cls: type) -> None:
    signature = inspect.signature(cls).parameters
    space: ParamSpace = cls.space
    keywords = [n for n, p in signature.items() if p.kind is p.KEYWORD_ONLY and n != "models"]
    assert [n for n in space.names if n in keywords] == keywords
    for name in keywords:
        param = space.get(name)
        assert param is not None and signature[name].default == param.default, name
    assert agent_params(cls.name) == space.defaults()


def test_of_reads_the_annotated_keywords_in_order() -> None:
    class Probe:
        def __init__(
            self,
            source: object,
            *,
            period: Annotated[int, between(2, 9, log=True)] = 4,
            k: Annotated[float, between(0.5, 3.0, step=0.5)] = 1.5,
            rr: Annotated[Decimal | str, between(1.0, 2.0, step=0.1, search=False)] = Decimal(
                "1.2"
            ),
            plain: int = 3,
        ) -> None: ...

    space = ParamSpace.of(Probe.__init__)
    assert space.names == ("period", "k", "rr")
    period, k, rr = space
    assert (period.kind, period.default, period.low, period.high, period.step, period.log) == (
        "int",
        4,
        2,
        9,
        1,
        True,
    )
    assert (k.kind, k.default, k.step) == ("float", 1.5, 0.5)
    assert (rr.kind, rr.default, rr.search) == ("decimal", Decimal("1.2"), False)
