"""No function in src/rampart longer than 100 lines, outside the generated migrations.

A function past a screen or two is several steps under one name: the reader has to find
where each begins. Split it into named steps (the alert rules are tables, one per response
time; a command's checks are functions of their own). ``STILL_LONG`` lists those left in
files being reworked elsewhere; the test fails on any other, and on a listed one that is
short now without being crossed off.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LIMIT = 100
"""Lines from a function's ``def`` (its decorators left out) to its last line."""

STILL_LONG: frozenset[str] = frozenset()
"""The functions still to split, by file and qualified name."""


def long_functions(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """``file:qualified.name`` -> lines, for every function under ``root`` past ``limit``
    lines (a nested function or a method by its enclosing names), migrations left out."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if "migrations" in path.relative_to(root).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        stack: list[tuple[ast.AST, str]] = [(tree, "")]
        while stack:
            node, prefix = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        lines = (child.end_lineno or child.lineno) - child.lineno + 1
                        if lines > limit:
                            found[f"{rel}:{name}"] = lines
                    stack.append((child, f"{name}."))
                else:
                    stack.append((child, prefix))
    return found


def test_no_function_over_the_limit_but_those_still_listed() -> None:
    found = long_functions(SRC / "rampart")
    new = {name: lines for name, lines in found.items() if name not in STILL_LONG}
    gone = sorted(STILL_LONG - set(found))
    assert not new, f"functions over {LIMIT} lines: split them into named steps: {new}"
    assert not gone, f"short now: cross them off STILL_LONG: {gone}"


def test_a_long_method_is_found_by_its_qualified_name(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "migrations").mkdir(parents=True)
    body = "".join(f"        x{i} = {i}\n" for i in range(LIMIT))
    (package / "mod.py").write_text(
        f"class Book:\n    def fill(self):\n{body}\n    def short(self):\n        return 1\n",
        encoding="utf-8",
    )
    (package / "migrations" / "rev.py").write_text(f"def upgrade():\n{body}", encoding="utf-8")
    assert long_functions(package) == {"pkg/mod.py:Book.fill": LIMIT + 1}
