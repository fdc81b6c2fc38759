"""What the check of a custom agent refuses, and in which words, beyond tests/agents/
test_plugins.py (the mutation area ``plugins``): every refusal names the agent as it was
written; names, warmups and constructors at their edges; a class is loaded and checked once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from rampart.agents import plugins
from rampart.agents.base import AgentBase
from rampart.domain.errors import ConfigError
from tests.agents.test_plugins import GOOD, HEADER, write
from tests.agents.test_plugins import _fresh as _fresh  # autouse: its own folder, nothing cached

DOC = '"""An agent."""'


def _agent(body: str, members: str = "", doc: str = "") -> str:
    """A minimal agent class ``A`` whose class body is ``members``, its constructor ``body``."""
    doc = doc or DOC
    return f"""
{HEADER}
class A:
    {doc}
    name = "a"
    warmup = 0
    {members}
    {body}
    def update(self, candle):
        pass
    def decide(self, view):
        return []
"""


def _refused(spec: str) -> str:
    with pytest.raises(ConfigError) as err:
        plugins.resolve(spec)
    return str(err.value)


def test_labels_and_the_length_an_account_keeps() -> None:
    assert plugins.agent_label("c:/agents/mine.py:Calm") == "Calm"
    assert plugins.agent_label("trend") == "trend"
    plugins.check_storable("a" * 64)
    with pytest.raises(ConfigError) as err:
        plugins.check_storable("a" * 65)
    assert str(err.value) == (
        f"Agent {'a' * 65!r} is 65 characters and an account keeps 64: name the file by a "
        "shorter (relative) path, or install it as a package."
    )


def test_a_path_is_read_as_a_file_and_every_refusal_names_the_agent() -> None:
    assert _refused("agents/mine:A") == "Agent 'agents/mine:A': there is no file agents/mine."
    assert _refused("agents\\mine:A") == "Agent 'agents\\\\mine:A': there is no file agents\\mine."
    assert _refused("nosuch_mod_72:A") == (
        "Agent 'nosuch_mod_72:A': there is no module nosuch_mod_72 on the Python path."
    )
    Path("bad_mod_72.py").write_text("x = 1\nraise RuntimeError('boom.')\n")
    sys.path.insert(0, str(Path.cwd()))
    try:
        assert _refused("bad_mod_72:A") == (
            "Agent 'bad_mod_72:A': importing bad_mod_72 raised RuntimeError (boom) at "
            "bad_mod_72.py:2."
        )
    finally:
        sys.path.remove(str(Path.cwd()))
        sys.modules.pop("bad_mod_72", None)
    write("odd.py", _agent("", "space = {'period': 5}"))
    assert _refused("odd.py:A") == "Agent 'odd.py:A' declares space as dict, not a ParamSpace."


def test_a_file_in_a_folder_with_a_colon_in_its_name_loads() -> None:
    Path("a:b").mkdir()
    write("a:b/calm.py", GOOD)
    found = plugins.resolve("a:b/calm.py:Calm")
    assert found is not None and found.spec == "a:b/calm.py:Calm"


def test_an_installed_agent_that_fails_to_load_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "brokenpkg72-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenpkg72\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[rampart.agents]\nbroken72 = brokenpkg72:Calm\n")
    (tmp_path / "brokenpkg72.py").write_text("raise ValueError('no config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _refused("broken72") == (
        "Agent 'broken72' (installed as brokenpkg72:Calm) failed to load: ValueError (no config) "
        "at brokenpkg72.py:1."
    )


def test_what_an_agent_raises_is_said_with_its_own_line() -> None:
    write("empty.py", _agent("def __init__(self):\n        raise RuntimeError()"))
    assert _refused("empty.py:A") == (
        "Agent 'empty.py:A' raised RuntimeError at empty.py:13 when built with its defaults."
    )
    deep = _agent(
        "def helper(self):\n        raise ValueError('bad value.')",
        "",
    ).replace("        return []", "        return self.helper()")
    write("deep.py", deep)
    assert _refused("deep.py:A") == (
        "Agent 'deep.py:A' raised ValueError (bad value) at deep.py:13 on probe bar 1: "
        "fix it before it trades."
    )


def test_a_class_without_both_methods_names_both() -> None:
    write("none.py", "class A:\n    name = 'a'\n    warmup = 0\n")
    assert _refused("none.py:A") == (
        "Agent 'none.py:A' has no update or decide method: an agent needs name, warmup, "
        "update(candle) and decide(view) (docs/authors/agents.md)."
    )


@pytest.mark.parametrize(
    ("members", "said"),
    [
        ("name = ''", "needs a name of 1 to 64 characters"),
        ("name = 'n' * 65", "needs a name of 1 to 64 characters"),
        ("name = 5", "needs a name of 1 to 64 characters"),
        ("warmup = -1", "needs a warmup of 0 or more bars, not -1"),
        ("warmup = True", "needs a warmup of 0 or more bars, not True"),
        ("warmup = '3'", "needs a warmup of 0 or more bars, not '3'"),
    ],
)
def test_a_name_or_warmup_out_of_bounds_is_refused(members: str, said: str) -> None:
    write("edge.py", _agent("", members))
    assert _refused("edge.py:A") == f"Agent 'edge.py:A' {said}."


def test_an_instance_without_a_name_or_warmup_is_refused_not_crashed() -> None:
    for member, said in (("name", "a name of 1 to 64 characters"), ("warmup", "a warmup")):
        write(f"no_{member}.py", _agent("").replace(f"\n    {member} = ", "\n    _unused = "))
        assert f"needs {said}" in _refused(f"no_{member}.py:A")
    write("long.py", _agent("", "name = 'n' * 64"))
    assert plugins.resolve("long.py:A") is not None


CONSTRUCTORS = {
    "open-ended": "def __init__(self, **params):\n        pass",
    "varargs": "def __init__(self, *args, period=5, size_hint=Decimal('0.1')):\n        pass",
    "positional-default": (
        "def __init__(self, x=1, /, *, period=5, size_hint=Decimal('0.1')):\n        pass"
    ),
    # 0.1 == Decimal("0.1") is False in Python; as numbers written down they are the same.
    "decimal-as-float": "def __init__(self, *, period=5, size_hint=0.1):\n        pass",
}
SPACE = (
    "from rampart.agents.space import decimal_param\n"
    "    space = ParamSpace((int_param('period', 5, 2, 50), "
    "decimal_param('size_hint', '0.1', 0.01, 1.0, 0.01)))"
)


@pytest.mark.parametrize("constructor", list(CONSTRUCTORS.values()), ids=list(CONSTRUCTORS))
def test_constructors_that_take_the_space_are_accepted(constructor: str) -> None:
    write("ok.py", _agent(constructor, SPACE))
    assert plugins.resolve("ok.py:A") is not None


def test_constructors_that_miss_the_space_are_refused_naming_the_agent() -> None:
    write(
        "pos.py",
        _agent(
            "def __init__(self, x, /, *, period=5, size_hint=Decimal('0.1')):\n        pass", SPACE
        ),
    )
    assert _refused("pos.py:A") == (
        "Agent 'pos.py:A': its constructor needs 'x' by position; take parameters by keyword, "
        "declared in its space."
    )
    # Open-ended, but what it does name must agree with the space.
    write(
        "open.py", _agent("def __init__(self, size_hint=Decimal(2), **rest):\n        pass", SPACE)
    )
    assert _refused("open.py:A") == (
        "Agent 'open.py:A': the default of 'size_hint' is Decimal('2') in its constructor and "
        "Decimal('0.1') in its space."
    )
    choice = "space = ParamSpace((choice_param('mode', None, ('a', 'b')),))"
    choice = f"from rampart.agents.space import choice_param\n    {choice}"
    write("choice.py", _agent("def __init__(self, mode=None):\n        pass", choice))
    assert plugins.resolve("choice.py:A") is not None


def test_an_agent_is_loaded_and_checked_once_and_two_agents_stay_apart() -> None:
    source = GOOD.replace("class Calm", "print('loaded', file=open('runs.txt', 'a'))\nclass Calm")
    source += "\nclass Other(Calm):\n    name = 'other'\n"
    write("calm.py", source)
    first = plugins.resolve("calm.py:Calm")
    assert plugins.resolve("./calm.py:Calm") is first  # the same file, checked once
    other = plugins.resolve("calm.py:Other")
    assert first is not None and other is not None and other is not first
    assert Path("runs.txt").read_text() == "loaded\n"  # the file ran once for both classes
    other_cls: Any = other.cls
    first_cls: Any = first.cls
    assert issubclass(other_cls, first_cls)
    # Named as modules, two classes of one module stay two agents as well.
    Path("mod72.py").write_text(Path("calm.py").read_text().replace("runs.txt", "mod_runs.txt"))
    sys.path.insert(0, str(Path.cwd()))
    try:
        calm, again = plugins.resolve("mod72:Calm"), plugins.resolve("mod72:Other")
    finally:
        sys.path.remove(str(Path.cwd()))
        sys.modules.pop("mod72", None)
    assert calm is not None and again is not None and calm.cls is not again.cls


def test_a_class_with_every_member_is_used_as_written_and_one_without_is_completed() -> None:
    write("calm.py", GOOD)
    found = plugins.resolve("calm.py:Calm")
    assert found is not None and found.cls is sys.modules[found.cls.__module__].Calm
    quiet_only = _agent("", "quiet = True", '"""Quiet, and nothing more.\n\n    More text."""')
    write("q.py", quiet_only)
    completed = plugins.resolve("q.py:A")
    assert completed is not None
    assert completed.cls is not sys.modules[completed.cls.__module__].A
    cls: Any = completed.cls
    assert issubclass(cls, AgentBase) and cls.quiet is True
    assert completed.cls.__doc__ == "Quiet, and nothing more.\n\n    More text."
    assert completed.description == "Quiet, and nothing more."


def test_the_description_is_the_declared_one_else_the_docstring_else_the_name() -> None:
    write("d.py", _agent("", "description = 'Declared.'"))
    write("nodoc.py", _agent("", "", "pass"))
    described, bare = plugins.resolve("d.py:A"), plugins.resolve("nodoc.py:A")
    assert described is not None and described.description == "Declared."
    assert bare is not None and bare.description == "nodoc.py:A"
