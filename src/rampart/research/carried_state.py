"""State that outlives a run: what an agent's class and modules hold after one run that the next
run — a fresh agent in the same process, as a second account, a second replay or an optimizer's
next trial — will find.

A class-level list (``closes = []`` on the class, appended by every instance), a module-level
dict filled while the agent runs (a cache of closes by time, which on the next run holds the
future), a memoised function keyed by the candle: each makes the second run decide differently
from the first, so results depend on what ran before. The lookahead check runs the agent over
the file twice in one process and compares; this module names what changed in between: every
class attribute of the agent's own classes and every global of its own modules whose value was
rebound, or whose contents grew or shrank (a list, dict, set, array, deque, or a
``functools.lru_cache``'s entries).
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Iterable, Sized
from pathlib import Path
from typing import Any

Marks = dict[str, tuple[int, int]]


def _size(value: Any) -> int:
    info = getattr(value, "cache_info", None)
    if callable(info):
        try:
            return int(info().currsize)
        except Exception:  # a cache_info of the agent's own, in any state: no size
            return -1
    if isinstance(value, Sized) and not isinstance(value, str | bytes | type):
        try:
            return len(value)
        except Exception:  # an object whose len raises: its identity alone
            return -1
    return -1


def _plain(name: str, value: Any) -> bool:
    """A name worth watching: not a dunder, a module, a class or a plain function."""
    if name.startswith("__"):
        return False
    if isinstance(value, functools._lru_cache_wrapper):
        return True
    return not isinstance(
        value,
        types.ModuleType
        | type
        | types.FunctionType
        | types.BuiltinFunctionType
        | property
        | staticmethod
        | classmethod
        | types.MethodType,
    )


def _own_classes(agent_class: type, code: Iterable[str]) -> list[type]:
    files = set(code)
    out = []
    for cls in agent_class.__mro__:
        module = sys.modules.get(cls.__module__)
        if module is not None and getattr(module, "__file__", None) in files:
            out.append(cls)
    return out


def snapshot(agent_class: type, code: Iterable[str]) -> Marks:
    """What the agent's own classes and modules hold now, by name (identity and size)."""
    files = set(code)
    marks: Marks = {}
    for cls in _own_classes(agent_class, files):
        for name, value in vars(cls).items():
            if _plain(name, value):
                marks[f"{cls.__name__}.{name}"] = (id(value), _size(value))
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) not in files:
            continue
        for name, value in list(vars(module).items()):
            if _plain(name, value):
                stem = Path(str(module.__file__)).stem
                marks[f"{stem}.{name}"] = (id(value), _size(value))
    return marks


def changed(before: Marks, after: Marks) -> tuple[str, ...]:
    """The names whose value was rebound, or whose contents changed size, or that appeared."""
    return tuple(sorted(n for n, mark in after.items() if before.get(n) != mark))
