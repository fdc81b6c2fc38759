"""The import graph of src/rampart for the tests that walk it (module cycles, the fronts' ways to
the store): every module a node, every ``import`` an edge wherever it is written, in-function
imports included and type-checking-only ones left out (they do not run)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def modules() -> dict[str, Path]:
    """Every module of src/rampart by its dotted name (a package by its ``__init__``)."""
    found = {}
    for path in (SRC / "rampart").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path], *, packages: bool) -> set[str]:
    """The modules of ``known`` that module ``name`` imports. ``from pkg import sub`` names
    ``pkg.sub``, and with ``packages`` also ``pkg`` (its ``__init__`` runs first: what a walk of
    everything a module runs needs; a cycle count leaves it out)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                named.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    module = ".".join(base + ([module] if module else []))
                for alias in child.names:
                    full = f"{module}.{alias.name}"
                    named.add(full if full in known else module)
                if packages:
                    named.add(module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    found = set()
    for module in named:
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module and module != name:
            found.add(module)
    return found
