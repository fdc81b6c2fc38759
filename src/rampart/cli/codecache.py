"""Code that the standard library compiles from text at start-up, kept between runs.

Loading a command builds a few hundred dataclasses, and ``dataclasses`` writes each one's
``__init__``, ``__repr__``, ``__eq__`` ... as source text and ``exec``s it; ``typing`` compiles
every string annotation it resolves (``ForwardRef``). Parsing and compiling those texts was
about a fifth of a command's start-up instructions (callgrind, a 2,000-candle replay: 0.7 of
3.55 G), every run, for the same texts. The ``rampart`` script (:mod:`rampart.cli.entry`)
calls :func:`install` first: those two modules then compile through a cache of code objects
keyed by the exact text, file name and mode, kept in ``__pycache__`` beside this file (like a
``.pyc``: one per interpreter's bytecode magic number) and written at exit when it gained any.

The code object is the one ``compile`` gives for that text, so what runs is the same: both
modules compile with no ``__future__`` flags of their own, and the cache compiles with
``dont_inherit=True`` so it inherits none either (this module must not import any). A cache
that cannot be read is ignored, one that cannot be written is not written; nothing fails.
"""

import atexit
import contextlib
import dataclasses
import marshal
import os
import sys
import typing
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

MAX_ENTRIES = 5_000
"""Past this many texts, only those this run compiled are written back (a replay uses ~1,300)."""

Key = tuple[str, str, str]

_cache: dict[Key, CodeType] = {}
_used: dict[Key, CodeType] = {}
_state = {"added": 0, "installed": 0}


def cache_path() -> Path:
    tag = sys.implementation.cache_tag or "python"
    return (
        Path(__file__).resolve().parent
        / "__pycache__"
        / f"codecache.{tag}-{MAGIC_NUMBER.hex()}.marshal"
    )


def _compiled(source: Any, filename: str, mode: str) -> Any:
    """``compile(source, filename, mode)`` for a module without ``__future__`` flags, from the
    cache when the same text was compiled before."""
    if type(source) is not str:
        return compile(source, filename, mode, dont_inherit=True)
    key = (source, filename, mode)
    code = _cache.get(key)
    if code is None:
        code = _cache[key] = compile(source, filename, mode, dont_inherit=True)
        _state["added"] += 1
    _used[key] = code
    return code


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:
    # dataclasses calls exec(text, globals, ns) from its own frame: no frame is skipped.
    exec(_compiled(source, "<string>", "exec"), globals, locals)  # noqa: S102 - dataclasses' own text


def _compile(source: Any, filename: Any, mode: str, flags: int = 0, *args: Any, **kw: Any) -> Any:
    if flags or args or kw:
        return compile(source, filename, mode, flags, *args, **kw)
    return _compiled(source, filename, mode)


def _load(path: Path) -> None:
    try:
        # Trusted as the .pyc files beside it are: whoever can write one can write the other.
        data = marshal.loads(path.read_bytes())  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return
    if isinstance(data, dict):
        _cache.update(
            (k, v) for k, v in data.items() if isinstance(k, tuple) and isinstance(v, CodeType)
        )


def save(path: Path | None = None) -> None:
    """Write the cache if it gained entries (atomically: readers see the old or the new)."""
    if not _state["added"]:
        return
    # Texts of older versions of the code are dropped once the cache grows past its bound.
    keep = _cache if len(_cache) <= MAX_ENTRIES else _used
    path = path or cache_path()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(OSError, ValueError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(marshal.dumps(keep))
        os.replace(tmp, path)
        _state["added"] = 0
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def install() -> None:
    """Compile dataclasses' generated methods and typing's string annotations through the
    cache from now on (idempotent)."""
    if _state["installed"]:
        return
    _state["installed"] = 1
    _load(cache_path())
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    typing.compile = _compile  # type: ignore[attr-defined]
    atexit.register(save)
