"""Agents of one's own: named as ``file.py:Class``, ``module:Class`` or an installed
entry point, checked against the protocol once, and refused in one sentence when they miss it."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest
from typer.testing import CliRunner

from rampart.agents import plugins
from rampart.agents.registry import agent_params, agent_space, make_agent
from rampart.cli.main import app
from rampart.config import AccountConfig, load_settings
from rampart.config.checks import check_settings
from rampart.domain.errors import ConfigError

runner = CliRunner()

HEADER = """
from decimal import Decimal
from rampart.agents.base import RuleAgent
from rampart.agents.space import SIZE_HINT, ParamSpace, int_param
"""

GOOD = (
    HEADER
    + '''
class Calm(RuleAgent):
    """Never trades: a protocol-abiding agent."""

    name = "calm"
    space = ParamSpace((int_param("period", 5, 2, 50), SIZE_HINT))

    def __init__(self, *, period=5, size_hint=Decimal(1)):
        super().__init__(size_hint)
        self.warmup = period

    def _advance(self, candle):
        pass

    def _decide(self, view):
        return []
'''
)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test in its own folder, with nothing resolved before it."""
    monkeypatch.setattr(plugins, "_resolved", {})
    monkeypatch.chdir(tmp_path)


def write(name: str, body: str) -> str:
    Path(name).write_text(dedent(body), encoding="utf-8")
    return name


def test_a_file_agent_is_built_from_its_declared_space() -> None:
    spec = write("calm.py", GOOD) + ":Calm"
    agent = make_agent(spec, {"period": "7"})  # text read as the declared type
    assert agent.warmup == 7 and agent.name == "calm"
    assert agent_space(spec).names == ("period", "size_hint")
    assert agent_params(spec) == {"period": 5, "size_hint": Decimal(1)}
    with pytest.raises(ConfigError, match=r"Parameter 'period' of agent 'calm\.py:Calm' must be"):
        make_agent(spec, {"period": 500})
    with pytest.raises(ConfigError, match="has no parameter 'speed'"):
        make_agent(spec, {"speed": 1})


def test_a_module_agent_and_an_installed_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "agent.py").write_text(dedent(GOOD))
    dist = tmp_path / "mypkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mypkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[rampart.agents]\nplugged = mypkg.agent:Calm\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert make_agent("mypkg.agent:Calm").name == "calm"
    assert plugins.installed_agents() == {"plugged": "mypkg.agent:Calm"}
    assert make_agent("plugged", {"period": 9}).warmup == 9
    listed = runner.invoke(app, ["agents"])
    assert listed.exit_code == 0 and "plugged: installed (mypkg.agent:Calm)" in listed.output


def test_an_agent_without_quiet_or_decide_async_gets_the_engine_defaults() -> None:
    spec = write(
        "bare.py",
        """
        class Bare:
            name = "bare"
            warmup = 0
            def update(self, candle):
                pass
            def decide(self, view):
                return []
        """,
    )
    agent = make_agent(spec + ":Bare")
    assert agent.quiet is False  # type: ignore[attr-defined]
    assert type(agent).__name__ == "Bare"


REFUSED = [
    pytest.param(
        """
        class NoDecide:
            name = "x"
            warmup = 0
            def update(self, candle):
                pass
        """,
        "NoDecide",
        r"has no decide method: an agent needs name, warmup, update\(candle\) and decide\(view\)",
        id="missing-method",
    ),
    pytest.param(
        HEADER
        + dedent("""
        class Extra(RuleAgent):
            name = "x"
            warmup = 0
            space = ParamSpace((int_param("period", 5, 2, 50), SIZE_HINT))
            def __init__(self, *, size_hint=Decimal(1)):
                super().__init__(size_hint)
            def _advance(self, candle): pass
            def _decide(self, view): return []
        """),
        "Extra",
        "its space declares 'period', which its constructor does not take",
        id="space-declares-more",
    ),
    pytest.param(
        HEADER
        + dedent("""
        class Hidden(RuleAgent):
            name = "x"
            warmup = 0
            space = ParamSpace((SIZE_HINT,))
            def __init__(self, *, speed=3, size_hint=Decimal(1)):
                super().__init__(size_hint)
            def _advance(self, candle): pass
            def _decide(self, view): return []
        """),
        "Hidden",
        "its constructor takes 'speed', which its space does not declare",
        id="constructor-takes-more",
    ),
    pytest.param(
        HEADER
        + dedent("""
        class Apart(RuleAgent):
            name = "x"
            warmup = 0
            space = ParamSpace((int_param("period", 5, 2, 50), SIZE_HINT))
            def __init__(self, *, period=8, size_hint=Decimal(1)):
                super().__init__(size_hint)
            def _advance(self, candle): pass
            def _decide(self, view): return []
        """),
        "Apart",
        "the default of 'period' is 8 in its constructor and 5 in its space",
        id="defaults-differ",
    ),
    pytest.param(
        """
        class Boom:
            name = "boom"
            warmup = 3
            def __init__(self):
                self.bars = 0
            def update(self, candle):
                self.bars += 1
            def decide(self, view):
                return [] if self.bars < 10 else [1 / 0]
        """,
        "Boom",
        r"raised ZeroDivisionError \(division by zero\) at boom.py:10 on probe bar 10: fix it",
        id="raises-deciding",
    ),
    pytest.param(
        """
        class Chatty:
            name = "chatty"
            warmup = 0
            def update(self, candle):
                pass
            def decide(self, view):
                return "buy"
        """,
        "Chatty",
        "answered str on probe bar 1: decide must return a list of Intent",
        id="answers-no-intents",
    ),
    pytest.param(
        "class Broken(:\n",
        "Broken",
        r"loading broken.py raised SyntaxError .* at line 1",
        id="syntax-error",
    ),
]


@pytest.mark.parametrize(("source", "cls", "said"), REFUSED)
def test_an_agent_that_misses_the_protocol_is_refused_in_one_sentence(
    source: str, cls: str, said: str
) -> None:
    spec = write(f"{cls.lower()}.py", source) + f":{cls}"
    with pytest.raises(ConfigError, match=said) as err:
        make_agent(spec)
    assert "\n" not in err.value.message
    # the same sentence from the command line, and nothing run
    done = runner.invoke(app, ["replay", "--data", "none.csv", "--agent", spec])
    assert done.exit_code == 2 and "Traceback" not in done.output


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("nothere.py:X", "there is no file nothere.py"),
        ("calm.py:Nope", "calm.py has no Nope"),
        ("no_such_pkg.mod:X", "there is no module no_such_pkg on the Python path"),
        ("json:dumps", "is not a class but function"),
        ("calm.py:", "must read path/to/file.py:ClassName"),
        ("nobody", "Unknown agent 'nobody'"),
    ],
)
def test_a_name_that_finds_no_agent_says_why(spec: str, said: str) -> None:
    write("calm.py", GOOD)
    with pytest.raises(ConfigError, match=said):
        make_agent(spec)


def test_the_settings_name_the_account_whose_agent_is_refused() -> None:
    write("calm.py", GOOD)
    settings = load_settings()
    settings.accounts = [
        AccountConfig(id="mine", agent="calm.py:Calm", params={"period": 4}),
        AccountConfig(id="bad", agent="calm.py:Gone"),
    ]
    with pytest.raises(ConfigError, match=r"accounts\[1\]\.agent.*calm.py has no Gone"):
        check_settings(settings)
    settings.accounts[1] = AccountConfig(id="long", agent="a/" * 40 + "calm.py:Calm")
    with pytest.raises(ConfigError, match="characters and an account keeps 64"):
        check_settings(settings)
    settings.accounts = settings.accounts[:1]
    check_settings(settings)


def test_agents_new_writes_a_skeleton_that_passes_its_own_test(tmp_path: Path) -> None:
    done = runner.invoke(app, ["agents", "new", "my_bot", "--dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "my_bot.py").is_file() and (tmp_path / "test_my_bot.py").is_file()
    agent = make_agent("my_bot.py:MyBot")
    assert agent.name == "my_bot" and agent.warmup == 101
    # its tests pass as written
    loaded = importlib.util.spec_from_file_location("skeleton_test", tmp_path / "test_my_bot.py")
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    tests = [f for name, f in vars(module).items() if name.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        test()
    again = runner.invoke(app, ["agents", "new", "my_bot", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(app, ["agents", "new", "My-Bot"])
    assert bad.exit_code == 2 and "is not an agent name" in bad.output
