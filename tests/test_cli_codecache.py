"""The ``rampart`` script compiles dataclasses' and typing's generated text through a cache
kept between runs (rampart/cli/codecache.py): the same code, and nothing fails without it."""

from __future__ import annotations

import dataclasses
import marshal
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from rampart.cli import codecache

SCRIPT = """
import dataclasses, sys, typing
from pathlib import Path
from rampart.cli import codecache

codecache.cache_path = lambda: Path(sys.argv[1])
codecache.install()

@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: "tuple[int, ...]" = dataclasses.field(default_factory=tuple)

p = Point(1, (2,))
assert repr(p) == "Point(x=1, y=(2,))", repr(p)
assert p == Point(1, (2,)) and hash(p) == hash(Point(1, (2,))) and Point(3).y == ()
assert typing.get_type_hints(Point)["y"] == tuple[int, ...]
print(codecache._state["added"])
"""


def _run(path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


def test_a_second_process_compiles_nothing_the_first_compiled(tmp_path: Path) -> None:
    path = tmp_path / "cache.marshal"
    assert _run(path) > 0  # the first run compiles and writes the cache
    assert path.exists()
    assert _run(path) == 0  # the second finds every text in it


def test_cached_code_is_what_compile_gives(tmp_path: Path) -> None:
    text = "def __create_fn__():\n def f(self, a:_type_a):\n  self.a=a\n return f"
    cached = codecache._compiled(text, "<string>", "exec")
    plain = compile(text, "<string>", "exec", dont_inherit=True)
    assert marshal.dumps(cached) == marshal.dumps(plain)
    assert codecache._compiled(text, "<string>", "exec") is cached
    # No __future__ flag leaks in: annotations stay evaluated, as dataclasses expects.
    ns: dict[str, object] = {}
    exec(cached, {"_type_a": int}, ns)  # noqa: S102 - a text written just above
    fn = ns["__create_fn__"]()  # type: ignore[operator]
    assert fn.__annotations__ == {"a": int}


def test_a_bad_forward_reference_is_still_a_syntax_error() -> None:
    with pytest.raises(SyntaxError):
        codecache._compile("not valid(", "<string>", "eval")


def test_an_unreadable_or_unwritable_cache_changes_nothing(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.marshal"
    garbage.write_bytes(b"not marshal data")
    codecache._load(garbage)  # ignored
    blocked = tmp_path / "file"
    blocked.write_text("")
    codecache._state["added"] += 1
    codecache.save(blocked / "sub" / "cache.marshal")  # its folder cannot be made: skipped
    assert not (blocked / "sub").exists()


def test_install_is_only_for_the_script() -> None:
    # The tests import rampart without the script: the standard library is left as it is.
    assert "exec" not in vars(dataclasses)
    assert "compile" not in vars(typing)
